#!/usr/bin/env bash
# Builds the Swift package against the host library and runs its XCTest suite with Linux
# Swift (Debian trixie's swiftlang in a chroot, from scripts/toolchains.sh), then the iOS
# sample's logic package (ios-sample/DialtoneSampleKit) and its tests the same way. Expects
# scripts/gen-bindings.sh to have run. The repo is bind-mounted at /src in the chroot.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchains.sh
ensure_swift
# SwiftPM's incremental build of a package that depends on Dialtone by path has crashed at
# run time (SIGSEGV in libswift_Concurrency) after the generated bindings changed: start
# those builds afresh whenever the bindings differ from the last run's.
sum=$(cat bindings/swift/Sources/Dialtone/Generated/Dialtone.swift bindings/swift/Sources/DialtoneFFI/include/DialtoneFFI.h | sha256sum | cut -d' ' -f1)
for scratch in target/swift-build target/swift-kit-build; do
  if [ "$(cat "$scratch/.dialtone-bindings" 2>/dev/null)" != "$sum" ]; then
    rm -rf "$scratch" && mkdir -p "$scratch" && echo "$sum" > "$scratch/.dialtone-bindings"
  fi
done
echo "[swift] swift test (in the trixie chroot)"
swift_in_chroot "$PWD" /bin/bash -c '
  set -e
  export LD_LIBRARY_PATH=/src/target/debug DIALTONE_MOCK_BIN=/src/target/debug/dialtone-mock
  cd /src/bindings/swift
  # Swift 6 language mode (complete strict concurrency), warnings as errors.
  strict="-Xswiftc -swift-version -Xswiftc 6 -Xswiftc -warnings-as-errors"
  timeout 900 swift test --disable-swift-testing --scratch-path /src/target/swift-build $strict -Xlinker -L/src/target/debug 2>&1
  echo "[swift] the iOS sample logic (ios-sample/DialtoneSampleKit)"
  cd /src/ios-sample/DialtoneSampleKit
  timeout 900 swift test --disable-swift-testing --scratch-path /src/target/swift-kit-build $strict -Xlinker -L/src/target/debug 2>&1
'
