#!/usr/bin/env bash
# Bandwidth's own browser SDK against the mock: builds the interop test, then runs it with
# headless Chromium inside a fresh network namespace whose only interface is loopback, so
# no WebRTC packet from the browser or the test can reach any other address.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchains.sh
ensure_browser
cargo test --locked -p dialtone --test bandwidth_sdk --no-run 2>&1 | tail -1
echo "[browser] Bandwidth SDK in headless Chromium ↔ dialtone-mock ↔ Dialtone core (loopback-only namespace)"
DIALTONE_BW_BUNDLE="$BW_BUNDLE" DIALTONE_CHROMIUM="$(command -v chromium)" \
unshare --net /bin/bash -c '
  set -e
  ip link set lo up
  exec timeout 300 cargo test --offline --locked -p dialtone --test bandwidth_sdk -- --ignored
'
