#!/usr/bin/env bash
# Builds the host library and generates the Kotlin and Swift bindings from it with the
# project's own uniffi-bindgen (same pinned UniFFI as the core). Generated files are build
# output, never committed:
#   Kotlin → bindings/kotlin/build/generated/dev/dialtone/dialtone.kt
#   Swift  → bindings/swift/Sources/Dialtone/Generated/Dialtone.swift
#            bindings/swift/Sources/DialtoneFFI/include/DialtoneFFI.h
# Usage: scripts/gen-bindings.sh [debug|release]   (default: debug)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-debug}"
flag=(); [ "$profile" = release ] && flag=(--release)
bash scripts/toolchains.sh build
cargo build -q "${flag[@]}" -p dialtone -p dialtone-mock -p uniffi-bindgen
lib="target/$profile/libdialtone.so"
[ "$(uname)" = Darwin ] && lib="target/$profile/libdialtone.dylib"
bindgen="target/$profile/uniffi-bindgen"

rm -rf bindings/kotlin/build/generated
"$bindgen" generate "$lib" --language kotlin --out-dir bindings/kotlin/build/generated --no-format >/dev/null

tmp=$(mktemp -d)
"$bindgen" generate "$lib" --language swift --out-dir "$tmp" --no-format >/dev/null
mkdir -p bindings/swift/Sources/Dialtone/Generated bindings/swift/Sources/DialtoneFFI/include
mv "$tmp/Dialtone.swift" bindings/swift/Sources/Dialtone/Generated/Dialtone.swift
mv "$tmp/DialtoneFFI.h" bindings/swift/Sources/DialtoneFFI/include/DialtoneFFI.h
rm -rf "$tmp"
