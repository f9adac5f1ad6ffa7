#!/usr/bin/env bash
# Prints the size of the shipped library (release profile: opt-level z, LTO, 1 CGU; identical
# code folded, .cargo/config.toml) as an
# app would carry it — stripped, and gzip -9 as a proxy for the store's compression — and
# the crates that take the most code, from the symbol table of the unstripped build.
#   scripts/size.sh [TARGET]    (default: the host; Android/iOS targets need their toolchains)
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-}"
flag=(); dir=target/release
[ -n "$target" ] && { flag=(--target "$target"); dir="target/$target/release"; }
cargo build -q --release --locked -p dialtone --lib "${flag[@]}"
lib="$dir/libdialtone.so"
[ -f "$lib" ] || lib="$dir/libdialtone.dylib"
tmp="$(mktemp)"; trap 'rm -f "$tmp"' EXIT
strip -o "$tmp" "$lib"
kib() { echo $(( $1 / 1024 )); }
echo "libdialtone ($([ -n "$target" ] && echo "$target" || uname -m)): $(kib "$(stat -c %s "$tmp")") KiB stripped, $(kib "$(gzip -9 -c "$tmp" | wc -c)") KiB gzipped"
# The same library with packed relative relocations, as the AAR's libraries are linked
# (build-aar.sh: --pack-dyn-relocs=android) and as Apple's chained fixups store them: the
# figure closest to what a phone carries. RELR stands in for Android's packing here; the
# source paths are remapped as in the shipped builds (scripts/release-flags.sh).
if [ -z "$target" ]; then
  . scripts/release-flags.sh
  RUSTFLAGS="-C link-arg=-Wl,-z,pack-relative-relocs -C link-arg=-Wl,--icf=all $(release_remap_flags)" CFLAGS="$(release_cflags)" CARGO_TARGET_DIR=target/size-relr \
    cargo build -q --release --locked -p dialtone --lib
  strip -o "$tmp" target/size-relr/release/libdialtone.so
  echo "  with packed relocations (as shipped): $(kib "$(stat -c %s "$tmp")") KiB stripped, $(kib "$(gzip -9 -c "$tmp" | wc -c)") KiB gzipped"
  # The shipped build names no path of this machine (scripts/release-flags.sh).
  leaks=$(strings -n 6 "$tmp" | grep -cF -e "${CARGO_HOME:-$HOME/.cargo}/" -e "$PWD/" || true)
  [ "$leaks" = 0 ] || { echo "  $leaks absolute build paths left in the shipped build" >&2; exit 1; }
  strip -o "$tmp" "$lib"
fi
echo "largest crates by code (KiB, from symbol sizes; inlined code counts where it landed):"
nm -S --size-sort -C "$lib" 2>/dev/null | python3 -c '
import re, sys, collections
sizes = collections.Counter()
for line in sys.stdin:
    parts = line.split(None, 3)
    if len(parts) < 4 or parts[2] not in "tTwW":
        continue
    name = parts[3]
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)::", name.lstrip("<&*"))
    crate = m.group(1) if m else ("C (libopus, ring asm, libc glue)" if "::" not in name else "other")
    sizes[crate] += int(parts[1], 16)
for crate, size in sizes.most_common(15):
    print(f"  {size // 1024:6d}  {crate}")
'
