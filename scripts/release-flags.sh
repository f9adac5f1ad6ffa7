# Sourced by the scripts that build the libraries we ship (bindings/kotlin/build-aar.sh,
# bindings/swift/build-xcframework.sh) and by scripts/size.sh, which measures them: the
# RUSTFLAGS every shipped library gets, whatever the platform, in one place.
#
#   release_remap_flags   prints --remap-path-prefix flags that turn the builder's absolute
#                         source paths into short relative ones (for RUSTFLAGS);
#   release_cflags        the same for the C the crates build (libopus's assertion messages,
#                         for CFLAGS, which the cc and cmake crates read).
#
# Why: every `panic!`, `unwrap` and `expect` in the library and its dependencies carries its
# source location (file:line) for the panic message. Built as is, that is the absolute path
# of the builder's Cargo home (`/home/someone/.cargo/registry/src/index.crates.io-…/tokio-1.54.1/
# src/…`): about 560 of them, 31 KiB of the x86_64 library, and the build machine's user and
# layout published in every app. Remapped they read `crates/tokio-1.54.1/src/…`, still enough
# to find the line. (Paths into the Rust standard library are already `/rustc/<hash>/…`.)
# Paths are split on spaces by cargo's RUSTFLAGS, so a Cargo home or checkout whose path has
# a space is left unmapped rather than breaking the build.

# "FROM=TO" for every source root a shipped library is built from.
release_path_maps() {
  local home="${CARGO_HOME:-$HOME/.cargo}" root dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  for dir in "$home"/registry/src/*/ "$home"/git/checkouts; do
    dir="${dir%/}"
    [ -d "$dir" ] && [[ "$dir" != *" "* ]] && echo "$dir=crates"
  done
  [[ "$root" != *" "* ]] && echo "$root=dialtone"
  return 0
}

release_remap_flags() {
  local map flags=()
  while read -r map; do flags+=("--remap-path-prefix=$map"); done < <(release_path_maps)
  echo "${flags[*]}"
}

release_cflags() {
  local map flags=("${CFLAGS:-}")
  while read -r map; do flags+=("-ffile-prefix-map=$map"); done < <(release_path_maps)
  echo "${flags[*]}"
}

# The standard library rebuilt from source with the release profile, for every shipped
# library (ADR 0011): `RUSTC_BOOTSTRAP=1 cargo build --target T $(release_std_flags)`, with
# rustup's rust-src component (toolchains.sh: ensure_rust_src). The prebuilt std is
# optimised for speed and carries its backtrace symbolizer (gimli, addr2line, miniz_oxide:
# it reads DWARF, which a stripped library does not have). Rebuilt, std is compiled with
# the release profile (opt-level z, LTO into the one library), with `optimize_for_size`
# (smaller sorting and formatting) and without the `backtrace` feature: about 200 KiB less
# on arm64 (scripts/size.sh prints x86_64 with and without it). A panic's message and
# location are kept (the core logs them, then the FFI boundary turns the panic into a typed
# error); only `std::backtrace::Backtrace` reports "unsupported". `panic_unwind` keeps
# panics unwinding.
# These are `-Z` flags: unstable, hence RUSTC_BOOTSTRAP on the stable compiler;
# scripts/test builds the arm64 library this way on every run, so a compiler update that
# breaks them fails CI rather than a release.
release_std_flags() {
  echo "-Z build-std=std,panic_unwind -Z build-std-features=panic-unwind,optimize_for_size"
}

# Compiler flags for RUSTFLAGS that need RUSTC_BOOTSTRAP as well (ADR 0011).
# -Z plt=yes: calls between the library's own functions are direct, as on every other
# target. rustc's x86_64 default (no PLT under full RELRO) calls any function not known to
# be local through the GOT, and in a cdylib that is almost all of them: 30 000 `call *GOT`
# sites and 9 000 GOT slots, 121 KiB of the x86_64 library (Android's x86_64 ABI) and an
# indirect jump per call. aarch64 already uses the PLT; the flag changes nothing there.
# -Z location-detail=none: a panic's location is not recorded, so the ~2 000 locations of
# the library's panics and `#[track_caller]` checks cost nothing: −180 KB on arm64 against
# full locations (Android stand-in). `file` (−99 KB, issue 22) kept the source file; issue 21
# needed the other 81 KB to stay within the budget (ADR 0011, amended). A panic still
# becomes a typed error with its message.
# -Z fmt-debug=shallow: `#[derive(Debug)]` prints the type or variant name only (issue 24,
# ADR 0011 amended): −150 KB on arm64, mostly the dependencies' derived impls. Hand-written
# Debug and every Display are unchanged; the SDK's log lines and errors use Display.
release_unstable_rustflags() {
  echo "-Z plt=yes -Z location-detail=none -Z fmt-debug=shallow"
}
