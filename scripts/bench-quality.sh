#!/usr/bin/env bash
# The speech-quality benchmark: Dialtone against Chrome's WebRTC (Bandwidth's browser SDK in
# headless Chromium) over the mock's link profiles, scored with wideband PESQ. Prints one
# table (README, "Call quality"). On a fresh machine it installs what it needs (espeak-ng,
# Chromium, a Python with pesq; scripts/toolchains.sh) and makes the speech sample.
#   scripts/bench-quality.sh                         all six profiles, both stacks
#   scripts/bench-quality.sh --profiles perfect,moderate --no-chrome
#   scripts/bench-quality.sh --wav my-speech.wav     any 16-bit WAV (converted to 48 kHz mono)
# Everything runs on 127.0.0.1 inside a network namespace that has nothing but loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchains.sh
ensure_build_deps
ensure_browser
ensure_quality
work="$DIALTONE_CACHE/quality"
mkdir -p "$work"
args=()
wav=""
while [ $# -gt 0 ]; do
  case "$1" in
    --wav) wav="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ -z "$wav" ]; then
  wav="$work/espeak.wav"
  espeak-ng -v en-us -s 150 -w "$wav" \
    "The quick brown fox jumps over the lazy dog. Please call me back when you get to the station; \
the train was late again, and my phone is almost out of battery. Thank you, see you at six."
fi
"$QUALITY_PYTHON" core/benches/quality/to48k.py "$wav" "$work/speech.wav"
cargo bench --locked -p dialtone --bench call_quality --no-run 2>&1 | tail -1
bin=$(cargo bench --locked -p dialtone --bench call_quality --no-run --message-format=json 2>/dev/null \
  | "$QUALITY_PYTHON" -c 'import sys, json
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "call_quality" and m.get("executable"):
        print(m["executable"])')
DIALTONE_SPEECH_WAV="$work/speech.wav" DIALTONE_PYTHON="$QUALITY_PYTHON" \
DIALTONE_BW_BUNDLE="$BW_BUNDLE" DIALTONE_CHROMIUM="$(command -v chromium)" \
unshare --net /bin/bash -c '
  set -e
  ip link set lo up
  exec "$@"
' bash "$bin" --out "$work/runs" ${args[@]+"${args[@]}"}
