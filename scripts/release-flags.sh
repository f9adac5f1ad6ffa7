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
