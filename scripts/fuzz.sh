#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets in fuzz/ (cargo fuzz, libFuzzer), each for SECONDS
# (default 20, what CI runs), or for RUNS executions with `--runs N`, and prints one line
# per target: executions, executions per second, coverage, corpus. A crash fails the script
# and leaves its input in fuzz/artifacts/<target>/ (reproduce: cargo fuzz run --fuzz-dir
# fuzz -s none TARGET fuzz/artifacts/TARGET/crash-…).
#   scripts/fuzz.sh [SECONDS] [TARGET...]      scripts/fuzz.sh --runs 1000000 [TARGET...]
# Long runs: scripts/fuzz.sh 3600. The working corpora grow in target/fuzz-corpus/<target>,
# seeded from fuzz/seeds/<target>/ (committed).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchains.sh
ensure_cargo_fuzz
limit=(-max_total_time=20)
case "${1:-}" in
  --runs) limit=(-runs="$2"); shift 2 ;;
  ''|*[!0-9]*) ;;
  *) limit=(-max_total_time="$1"); shift ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(sed -n 's/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml | grep -v '^dialtone-fuzz$')

# libFuzzer's flags are nightly flags: the nightly toolchain if there is one, else stable
# told to accept them. LTO is off for the fuzz build: it strips the coverage counters.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then cargo=(cargo +nightly); else cargo=(env RUSTC_BOOTSTRAP=1 cargo); fi
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_OPT_LEVEL=2 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
# No sanitizer: the parsers are safe Rust; coverage and panics are what libFuzzer needs here.
"${cargo[@]}" fuzz build --fuzz-dir fuzz -s none

for t in "${targets[@]}"; do
  corpus="target/fuzz-corpus/$t"
  mkdir -p "$corpus" "fuzz/seeds/$t"
  log="target/fuzz-corpus/$t.log"
  if ! "${cargo[@]}" fuzz run --fuzz-dir fuzz -s none "$t" "$corpus" "fuzz/seeds/$t" -- \
      "${limit[@]}" -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 >"$log" 2>&1; then
    echo "[fuzz] $t: FAILED (see $log and fuzz/artifacts/$t/)" >&2
    tail -30 "$log" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  printf '[fuzz] %-24s %10s runs  %8s exec/s  cov %5s  corpus %5s  no crash\n' "$t" "$runs" "$speed" "$cov" "$corp"
done
