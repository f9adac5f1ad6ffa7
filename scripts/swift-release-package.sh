#!/usr/bin/env bash
# Writes the Swift package an app consumes by URL: Package.swift with
# `.binaryTarget(name: "DialtoneFFI", url:, checksum:)` (the checksum is what
# `swift package compute-checksum` prints: the SHA-256 of the zip), beside the package's
# Swift sources (Dialtone, DialtoneTesting). Push OUT_DIR to the distribution repository and
# tag it with the version; apps add `.package(url: "<that repo>", exact: "<version>")`.
#   scripts/swift-release-package.sh XCFRAMEWORK_ZIP DOWNLOAD_URL OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
zip="$1" url="$2" out="$3"
[ -f "$zip" ] || { echo "no XCFramework zip at $zip" >&2; exit 1; }
case "$url" in https://*) ;; *) echo "the download URL must be https:// (SwiftPM refuses others): $url" >&2; exit 1 ;; esac
checksum=$(sha256sum "$zip" | cut -d' ' -f1)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
rm -rf "$out" && mkdir -p "$out/Sources"
cp -R bindings/swift/Sources/Dialtone bindings/swift/Sources/DialtoneTesting "$out/Sources/"
cat > "$out/Package.swift" <<SWIFT
// swift-tools-version:5.9
// Dialtone $version, the calling SDK (written by scripts/swift-release-package.sh).
import PackageDescription

let package = Package(
    name: "Dialtone",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Dialtone", targets: ["Dialtone"]),
        .library(name: "DialtoneTesting", targets: ["DialtoneTesting"]),
    ],
    targets: [
        .binaryTarget(
            name: "DialtoneFFI",
            url: "$url",
            checksum: "$checksum"
        ),
        .target(
            name: "Dialtone",
            dependencies: ["DialtoneFFI"],
            path: "Sources/Dialtone",
            linkerSettings: [.linkedFramework("Security")]
        ),
        .target(name: "DialtoneTesting", dependencies: ["Dialtone"], path: "Sources/DialtoneTesting"),
    ]
)
SWIFT
echo "$checksum"
