#!/usr/bin/env bash
# The shipped library built for aarch64-linux-android, the real Android target, so that
# every Android-only dependency is in it (the keyring store with jni and regex, the platform
# verifier's JNI path, liblog's logging, the fallback roots) and its JNI exports can be
# listed. Sourced by scripts/size.sh (the arm64 budget) and scripts/check-aar.sh (the JNI
# names). No NDK can be had here, so the C parts (libopus, ring) are compiled by Debian's
# aarch64 cross compiler against glibc's headers instead of bionic's, and the link resolves
# liblog and libunwind against empty stand-ins made here (their symbols stay undefined, as
# they are until Android's loader binds them). Rust code, code generator and flags are the
# shipped ones (release profile, build-std, scripts/release-flags.sh, as build-aar.sh).
#   android_standin_build   builds it; prints the path of the unstripped library
# Needs: toolchains.sh's ensure_arm64_cross and the rustup target aarch64-linux-android.

android_standin_build() {
  local root stubs target=aarch64-linux-android lld_dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  stubs="$root/target/android-standin"
  mkdir -p "$stubs"
  if [ ! -f "$stubs/liblog.so" ] || [ ! -f "$stubs/libunwind.so" ]; then
    : > "$stubs/empty.c"
    for l in log unwind; do aarch64-linux-gnu-gcc -shared -o "$stubs/lib$l.so" "$stubs/empty.c"; done
  fi
  # libopus's CMake build: cmake-rs would otherwise look for the NDK's toolchain file.
  [ -f "$stubs/cmake-toolchain.cmake" ] || printf 'set(CMAKE_SYSTEM_NAME Linux)\nset(CMAKE_SYSTEM_PROCESSOR aarch64)\nset(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)\n' > "$stubs/cmake-toolchain.cmake"
  lld_dir="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/gcc-ld"
  # shellcheck source=release-flags.sh
  . "$root/scripts/release-flags.sh"
  (cd "$root" && env RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_AARCH64_LINUX_ANDROID_LINKER=aarch64-linux-gnu-gcc \
    CC_aarch64_linux_android=aarch64-linux-gnu-gcc AR_aarch64_linux_android=aarch64-linux-gnu-ar \
    CMAKE_TOOLCHAIN_FILE_aarch64_linux_android="$stubs/cmake-toolchain.cmake" \
    RUSTFLAGS="-C link-arg=-B$lld_dir -C link-arg=-fuse-ld=lld -C link-arg=-Wl,-z,pack-relative-relocs -C link-arg=-Wl,--icf=all -C link-arg=-Wl,-z,max-page-size=16384 $(release_remap_flags) $(release_unstable_rustflags) -L $stubs" \
    CFLAGS="$(release_cflags)" CARGO_TARGET_DIR="$root/target/size-android" \
    cargo build -q --release --locked -p dialtone --lib --target "$target" $(release_std_flags)) >&2
  echo "$root/target/size-android/$target/release/libdialtone.so"
}
