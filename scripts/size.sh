#!/usr/bin/env bash
# Prints the size of the shipped library as an app would carry it — stripped, and gzip -9 as
# a proxy for the store's compression — and the crates that take the most code, and fails
# if the arm64 Android library, with every Android-only dependency, is over the budget
# (issue 22: 6 000 000 bytes, stripped).
#
#   scripts/size.sh           x86_64 three ways (as linked; packed relocations; and as
#                             shipped: packed, std rebuilt, -Z plt), the largest crates, the
#                             AAR's other ABIs (armeabi-v7a, x86) as shipped, arm64 Linux
#                             (no platform dependency), and arm64 Android as shipped with
#                             the budget check
#   scripts/size.sh --arm64   only arm64 Android as shipped and the budget check (scripts/test)
#
# "As shipped" is how bindings/kotlin/build-aar.sh and bindings/swift/build-xcframework.sh
# build: release profile (opt-level z, LTO, one codegen unit, panic = unwind), identical code
# folded (lld --icf=all), packed relative relocations (RELR here stands in for Android's
# --pack-dyn-relocs=android and Apple's chained fixups), 16 KB pages, source paths remapped,
# std rebuilt with the release profile, and direct calls on x86_64 (scripts/release-flags.sh,
# ADR 0011).
# arm64 is the instruction set of the phones the SDK ships to (arm64-v8a, iOS). No NDK or
# Xcode can be had here, so it is built for aarch64 Linux with Debian's cross compiler
# (toolchains.sh: ensure_arm64_cross): the same code generator, Rust code and libopus, a
# different C library underneath (bionic and Apple's libSystem are linked, not carried).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/toolchains.sh
. scripts/release-flags.sh
BUDGET_BYTES=6000000
only_arm64=0
[ "${1:-}" = --arm64 ] && only_arm64=1

tmp="$(mktemp)"; trap 'rm -f "$tmp"' EXIT
kib() { echo $(( $1 / 1024 )); }
# "N KiB stripped, M KiB gzipped" for a stripped copy in $tmp.
report() { echo "$(kib "$(stat -c %s "$tmp")") KiB stripped, $(kib "$(gzip -9 -c "$tmp" | wc -c)") KiB gzipped"; }
# Fails if the shipped build in $tmp names a path of this machine (release-flags.sh).
no_build_paths() {
  local leaks
  leaks=$(strings -n 6 "$tmp" | grep -cF -e "${CARGO_HOME:-$HOME/.cargo}/" -e "$PWD/" || true)
  [ "$leaks" = 0 ] || { echo "  $leaks absolute build paths left in the shipped build" >&2; exit 1; }
}
# lld through the C compiler driver, as the NDK links (Rust's own copy of lld).
lld_dir="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/gcc-ld"
shipped_link="-C link-arg=-Wl,-z,pack-relative-relocs -C link-arg=-Wl,--icf=all -C link-arg=-Wl,-z,max-page-size=16384 $(release_remap_flags)"
shipped_codegen="$(release_unstable_rustflags)"

ensure_build_deps
if [ "$only_arm64" = 0 ]; then
  ensure_rust_src
  host="$(rustc -vV | sed -n 's/^host: //p')"
  cargo build -q --release --locked -p dialtone --lib
  strip -o "$tmp" target/release/libdialtone.so
  echo "libdialtone ($(uname -m)), as linked: $(report)"
  RUSTFLAGS="$shipped_link" CFLAGS="$(release_cflags)" CARGO_TARGET_DIR=target/size-relr \
    cargo build -q --release --locked -p dialtone --lib
  strip -o "$tmp" target/size-relr/release/libdialtone.so
  echo "  packed relocations (stable compiler flags only): $(report)"
  # As shipped, with the CPU features Android's x86_64 ABI guarantees (those of rustc's
  # x86_64-linux-android target spec; libopus's build reads them too and presumes SSE4.1
  # instead of choosing at run time).
  android_cpu=""
  [ "$host" = x86_64-unknown-linux-gnu ] && android_cpu="-C target-feature=+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt"
  RUSTC_BOOTSTRAP=1 RUSTFLAGS="$shipped_link $shipped_codegen $android_cpu" CFLAGS="$(release_cflags)" CARGO_TARGET_DIR=target/size-shipped \
    cargo build -q --release --locked -p dialtone --lib --target "$host" $(release_std_flags)
  strip -o "$tmp" "target/size-shipped/$host/release/libdialtone.so"
  echo "  as shipped (packed relocations, std rebuilt, direct calls, Android's CPU features): $(report)"
  no_build_paths
  echo "largest crates by code (KiB, from symbol sizes, as linked; inlined code counts where it landed):"
  nm -S --size-sort -C target/release/libdialtone.so 2>/dev/null | python3 -c '
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
fi

# Builds the library as shipped for a Linux target standing in for an Android ABI, with that
# ABI's CPU features, and leaves it stripped in $tmp.
#   cross_build DIR RUST_TARGET GCC_PREFIX [RUSTFLAGS...]
cross_build() {
  local dir="$1" target="$2" gcc="$3"; shift 3
  local t="${target//-/_}"
  env RUSTC_BOOTSTRAP=1 \
    "CARGO_TARGET_${t^^}_LINKER=$gcc-gcc" "CC_$t=$gcc-gcc" "AR_$t=$gcc-ar" \
    RUSTFLAGS="-C link-arg=-B$lld_dir -C link-arg=-fuse-ld=lld $shipped_link $shipped_codegen $*" \
    CFLAGS="$(release_cflags)" CARGO_TARGET_DIR="target/$dir" \
    cargo build -q --release --locked -p dialtone --lib --target "$target" $(release_std_flags)
  "$gcc-strip" -o "$tmp" "target/$dir/$target/release/libdialtone.so"
}

if [ "$only_arm64" = 0 ]; then
  # The AAR's two other ABIs, for the figures only. Their Linux stand-ins are close to
  # Android's: armeabi-v7a is Thumb-2 (the Linux target also assumes NEON, which Android's
  # does not require; turning it off is an unstable flag, and it changes little code); x86
  # is SSSE3, as Android's.
  ensure_android_abi_cross
  cross_build size-armv7 thumbv7neon-unknown-linux-gnueabihf arm-linux-gnueabihf
  echo "libdialtone (armeabi-v7a), as shipped: $(report)"
  no_build_paths
  cross_build size-x86 i686-unknown-linux-gnu i686-linux-gnu -C target-feature=+sse3,+ssse3
  echo "libdialtone (x86), as shipped: $(report)"
  no_build_paths
fi
ensure_arm64_cross
if [ "$only_arm64" = 0 ]; then
  # arm64 Linux: the same Rust code without any platform-only dependency (the figure this
  # script checked until issue 22), to show what Android's own dependencies add.
  cross_build size-arm64 aarch64-unknown-linux-gnu aarch64-linux-gnu
  echo "libdialtone (arm64 Linux, no platform-only dependency), as shipped: $(report) ($(stat -c %s "$tmp") bytes)"
  no_build_paths
fi
# The budget: arm64 as Android builds it, every Android-only dependency included
# (scripts/android-standin.sh). iOS arm64 carries the Apple-only ones instead (the Security
# framework's bindings, the Keychain store, os_log), which cannot be built here.
ensure_rust_target aarch64-linux-android
. scripts/android-standin.sh
so="$(android_standin_build)"
aarch64-linux-gnu-strip -o "$tmp" "$so"
bytes=$(stat -c %s "$tmp")
echo "libdialtone (arm64-v8a, Android's dependencies included), as shipped: $(report) ($bytes bytes; budget $BUDGET_BYTES)"
no_build_paths
if [ "$bytes" -gt "$BUDGET_BYTES" ]; then
  echo "  over the size budget by $(( bytes - BUDGET_BYTES )) bytes (README, \"Size\")" >&2
  exit 1
fi
