#!/usr/bin/env bash
# Builds DialtoneFFI.xcframework on macOS with Xcode: static libraries for iOS devices
# (arm64), the iOS simulator (arm64 + x86_64, lipo'd) and macOS (arm64 + x86_64, lipo'd),
# with the generated header, the audio edge's header (dialtone_audio.h) and the module map,
# then a zip and its SwiftPM checksum.
#   bindings/swift/build-xcframework.sh   → bindings/swift/DialtoneFFI.xcframework(.zip)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
write_modulemap() {
  cat > "$1" <<'MAP'
module DialtoneFFI {
    header "DialtoneFFI.h"
    header "dialtone_audio.h"
    link framework "Security"
    export *
}
MAP
}

# `--layout DIR`: only lay out the headers as the XCFramework will carry them (no Xcode
# needed), for the check in scripts/test.
if [ "${1:-}" = --layout ]; then
  out="$2"; rm -rf "$out"; mkdir -p "$out/Headers/DialtoneFFI"
  cp "$here/Sources/DialtoneFFI/include/DialtoneFFI.h" "$here/Sources/DialtoneFFI/dialtone_audio.h" "$out/Headers/DialtoneFFI/"
  write_modulemap "$out/Headers/DialtoneFFI/module.modulemap"
  exit 0
fi

[ "$(uname -s)" = Darwin ] || { echo "build-xcframework.sh needs macOS and Xcode" >&2; exit 1; }

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${targets[@]}"
rustup component add rust-src
export IPHONEOS_DEPLOYMENT_TARGET=15.0 MACOSX_DEPLOYMENT_TARGET=12.0
# Short source paths in panic locations and std rebuilt with the release profile, as on
# Android (scripts/release-flags.sh, ADR 0011).
. "$root/scripts/release-flags.sh"
for t in "${targets[@]}"; do
  RUSTC_BOOTSTRAP=1 RUSTFLAGS="$(release_remap_flags) $(release_unstable_rustflags)" CFLAGS="$(release_cflags)" \
    cargo build --release -p dialtone --target "$t" $(release_std_flags)
done

# Bindings from an unstripped library (uniffi-bindgen cannot read a stripped one).
cargo build --release -p uniffi-bindgen
gen="$(mktemp -d)"
target/release/uniffi-bindgen generate target/aarch64-apple-darwin/release/libdialtone.dylib \
  --language swift --out-dir "$gen" --no-format
mkdir -p "$here/Sources/Dialtone/Generated"
cp "$gen/Dialtone.swift" "$here/Sources/Dialtone/Generated/Dialtone.swift"

# Headers/DialtoneFFI/, not the root of Headers/: Xcode copies every XCFramework's Headers/
# into one shared include/ directory, and two module.modulemap files at its root collide
# ("Multiple commands produce …/include/module.modulemap"; swiftlang/swift-build#1746,
# boltffi/boltffi#77). The core uses the Keychain, so the module links Security itself.
headers="$(mktemp -d)"
mkdir -p "$headers/DialtoneFFI"
cp "$gen/DialtoneFFI.h" "$here/Sources/DialtoneFFI/dialtone_audio.h" "$headers/DialtoneFFI/"
write_modulemap "$headers/DialtoneFFI/module.modulemap"

out="$(mktemp -d)"
mkdir -p "$out/ios" "$out/ios-sim" "$out/macos"
cp target/aarch64-apple-ios/release/libdialtone.a "$out/ios/libdialtone.a"
lipo -create target/aarch64-apple-ios-sim/release/libdialtone.a target/x86_64-apple-ios/release/libdialtone.a \
  -output "$out/ios-sim/libdialtone.a"
lipo -create target/aarch64-apple-darwin/release/libdialtone.a target/x86_64-apple-darwin/release/libdialtone.a \
  -output "$out/macos/libdialtone.a"
# Strip only the shipped copies: debug symbols off, global symbols kept for the linker.
for a in "$out"/*/libdialtone.a; do strip -S -x "$a"; done

rm -rf "$here/DialtoneFFI.xcframework" "$here/DialtoneFFI.xcframework.zip"
xcodebuild -create-xcframework \
  -library "$out/ios/libdialtone.a" -headers "$headers" \
  -library "$out/ios-sim/libdialtone.a" -headers "$headers" \
  -library "$out/macos/libdialtone.a" -headers "$headers" \
  -output "$here/DialtoneFFI.xcframework"

cd "$here"
ditto -c -k --sequesterRsrc --keepParent DialtoneFFI.xcframework DialtoneFFI.xcframework.zip
echo "checksum for Package.swift's binaryTarget(url:checksum:): $(swift package compute-checksum DialtoneFFI.xcframework.zip)"
