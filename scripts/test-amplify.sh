#!/usr/bin/env bash
# AWS Amplify's own JavaScript GraphQL client (v6, from npm) against the mock over TLS: a
# mutation, a query, and a subscription through the real-time endpoint that receives another
# client's change. Runs in a network namespace whose only interface is loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchains.sh
ensure_amplify
cargo test -q --locked -p dialtone-mock --test tls --no-run
echo "[amplify] aws-amplify v6 ↔ dialtone-mock --tls (loopback-only namespace)"
DIALTONE_AMPLIFY_DIR="$AMPLIFY_DIR" unshare --net /bin/bash -c '
  set -e
  ip link set lo up
  exec timeout 120 cargo test --offline --locked -p dialtone-mock --test tls -- --ignored --nocapture
'
