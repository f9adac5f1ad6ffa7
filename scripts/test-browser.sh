#!/usr/bin/env bash
# The browser tests, in headless Chromium inside a fresh network namespace whose only
# interface is loopback (no WebRTC packet from the browser or the test can reach any other
# address): Bandwidth's own browser SDK against the mock, and the mock's console page
# during a call between two Dialtone phones (a screenshot goes to target/test-artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchains.sh
ensure_build_deps
ensure_browser
cargo test -q --locked -p dialtone --test bandwidth_sdk --test console_page --no-run
echo "[browser] Bandwidth SDK in headless Chromium ↔ dialtone-mock ↔ Dialtone core (loopback-only namespace)"
DIALTONE_BW_BUNDLE="$BW_BUNDLE" DIALTONE_CHROMIUM="$(command -v chromium)" \
unshare --net /bin/bash -c '
  set -e
  ip link set lo up
  timeout 300 cargo test --offline --locked -p dialtone --test bandwidth_sdk -- --ignored
  echo "[browser] the mock'"'"'s console in headless Chromium during a call (screenshot: target/test-artifacts/)"
  exec timeout 300 cargo test --offline --locked -p dialtone --test console_page -- --ignored
'
