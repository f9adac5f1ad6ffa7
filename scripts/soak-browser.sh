#!/usr/bin/env bash
# A soak of the console's browser-phone test (core/tests/console_page.rs): runs it N times
# (default 30) in a loopback-only network namespace while two busy loops keep both cores of
# a small machine loaded, as a CI machine is, and prints how many runs passed. Races that
# CI meets once in twenty runs show here within minutes; the log of each failed run is kept.
#   scripts/soak-browser.sh [N] [TEST_FILTER]    (filter default: the_browser_phone)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchains.sh
ensure_build_deps
ensure_browser
runs="${1:-30}"
filter="${2:-the_browser_phone}"
cargo test -q --locked -p dialtone --test console_page --no-run
logs="$(mktemp -d)"
load=()
for _ in 1 2; do (while :; do :; done) & load+=($!); done
trap 'kill "${load[@]}" 2>/dev/null || true' EXIT
pass=0
for i in $(seq "$runs"); do
  if DIALTONE_CHROMIUM="$(command -v chromium)" unshare --net /bin/bash -c "
      ip link set lo up
      timeout 300 cargo test -q --offline --locked -p dialtone --test console_page -- --ignored '$filter'
    " >"$logs/run-$i.log" 2>&1; then
    pass=$((pass + 1)); rm "$logs/run-$i.log"
  else
    echo "[soak] run $i failed: $logs/run-$i.log ($(grep -m1 -o 'never showed [^;]*' "$logs/run-$i.log" || echo 'see the log'))"
  fi
done
echo "[soak] $pass of $runs runs passed under load ($filter)"
[ "$pass" = "$runs" ]
