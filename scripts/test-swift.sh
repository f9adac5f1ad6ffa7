#!/usr/bin/env bash
# Builds the Swift package against the host library and runs its XCTest suite with Linux
# Swift (Debian trixie's swiftlang in a chroot, from scripts/toolchains.sh). Expects
# scripts/gen-bindings.sh to have run. The repo is bind-mounted at /src in the chroot.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchains.sh
ensure_swift
echo "[swift] swift test (in the trixie chroot)"
swift_in_chroot "$PWD" /usr/bin/timeout 900 /bin/bash -c '
  set -e
  cd /src/bindings/swift
  export LD_LIBRARY_PATH=/src/target/debug DIALTONE_MOCK_BIN=/src/target/debug/dialtone-mock
  swift test --disable-swift-testing --scratch-path /src/target/swift-build -Xlinker -L/src/target/debug 2>&1
'
