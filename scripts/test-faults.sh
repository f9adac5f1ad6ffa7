#!/usr/bin/env bash
# Real outages mid-call (core/tests/faults.rs): nftables rules that drop UDP, or UDP and TCP,
# on loopback, inside a fresh network namespace whose only interface is loopback, so no rule
# ever touches the machine's own firewall and no packet can leave. Prints the time from the
# end of each outage to audio again both ways.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchains.sh
ensure_build_deps
ensure_faults
cargo test -q --locked -p dialtone --features testing --test faults --no-run
echo "[faults] outages in a loopback-only network namespace"
# `set -o pipefail`: the filter below keeps the figures and the verdicts, and the exit status
# must stay cargo's (without it, a failed fault test printed FAILED and the step passed).
# An argument narrows the run to the tests whose names contain it.
DIALTONE_FAULTS_NETNS=1 unshare --net /bin/bash -c '
  set -eo pipefail
  ip link set lo up
  timeout 900 cargo test --offline --locked -p dialtone --features testing --test faults -- --ignored --test-threads=1 --nocapture "$@" 2>&1 \
    | grep --line-buffered -E "^\[faults\]|^test |test result|panicked|assert|FAILED"
' faults "$@"
