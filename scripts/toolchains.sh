#!/usr/bin/env bash
# Installs and caches the toolchains the binding suites need, outside the repo, so a
# second run is quick and a fresh machine (or CI) needs nothing installed by hand:
#   - kotlinc + kotlinx-coroutines from npm's `kotlin-compiler`
#   - JNA and JUnit 5 from Debian (libjna-java, junit5)
#   - Swift 6 (Debian trixie's swiftlang) inside a debootstrap chroot
#   - cmake, which the bundled libopus build needs
#   - Debian's aarch64 cross compiler and rustup's rust-src, for the size of the shipped
#     library on arm64 (scripts/size.sh)
#   - Chromium (Debian) and Bandwidth's browser SDK bundled with esbuild (npm), for the
#     interop test against Bandwidth's own client
#   - espeak-ng (Debian) and a Python with numpy and pesq (PyPI), for the speech-quality
#     benchmark (scripts/bench-quality.sh)
# Source it: it exports DIALTONE_CACHE, KOTLIN_HOME, SWIFT_ROOT, BW_BUNDLE, QUALITY_PYTHON.
set -euo pipefail

DIALTONE_CACHE="${DIALTONE_CACHE:-$HOME/.cache/dialtone}"
KOTLIN_HOME="$DIALTONE_CACHE/kotlin/node_modules/kotlin-compiler"
SWIFT_ROOT="$DIALTONE_CACHE/swift-trixie"
KOTLIN_COMPILER_VERSION="2.4.20"
BW_DIR="$DIALTONE_CACHE/bandwidth-sdk"
BW_BUNDLE="$BW_DIR/bw.js"
AMPLIFY_DIR="$DIALTONE_CACHE/amplify"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUALITY_VENV="$DIALTONE_CACHE/quality-venv"
QUALITY_PYTHON="$QUALITY_VENV/bin/python"
export DIALTONE_CACHE KOTLIN_HOME SWIFT_ROOT BW_BUNDLE QUALITY_PYTHON

log() { printf '[toolchains] %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated -eq 0 ]; then apt-get update -qq; apt_updated=1; fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# libopus is built from source by the opus crate (opusic-sys), which needs cmake.
ensure_build_deps() {
  command -v cmake >/dev/null 2>&1 || apt_install cmake
}

ensure_kotlin() {
  apt_install libjna-java junit5 default-jdk-headless
  if [ ! -x "$KOTLIN_HOME/bin/kotlinc" ]; then
    log "installing kotlin-compiler@$KOTLIN_COMPILER_VERSION from npm"
    mkdir -p "$DIALTONE_CACHE/kotlin"
    (cd "$DIALTONE_CACHE/kotlin" && npm install --silent --no-audit --no-fund "kotlin-compiler@$KOTLIN_COMPILER_VERSION" >/dev/null)
    chmod +x "$KOTLIN_HOME"/bin/* || true
  fi
}

# A Rust standard library for a target (rustup, as the machine configures it): the AAR check
# compiles the Android keyring store's JNI entry points for aarch64-linux-android.
ensure_rust_target() {
  rustup target list --installed 2>/dev/null | grep -qx "$1" && return 0
  log "adding the Rust target $1"
  rustup target add "$1" >/dev/null
}

# The Rust standard library's source (rustup's rust-src component): the shipped libraries
# build std from it with the release profile (scripts/release-flags.sh, ADR 0011).
ensure_rust_src() {
  [ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library/std" ] && return 0
  log "adding rustup's rust-src component"
  rustup component add rust-src >/dev/null
}

# arm64, the instruction set of the phones the SDK ships to, for scripts/size.sh: Debian's
# aarch64 cross compiler and C library (for libopus and ring, and as the link driver; lld
# links). std is built from rust-src for it, so no rustup target is needed. No Android NDK
# or Xcode can be had here, so arm64 Linux stands in for arm64-v8a and iOS arm64: the same
# code generator and instruction set, a different C library underneath.
ensure_arm64_cross() {
  apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  ensure_rust_src
}

# The AAR's 32-bit ABIs (armeabi-v7a, x86) for scripts/size.sh's figures: Debian's cross
# compilers; std is built from rust-src for them, so no rustup target is needed.
ensure_android_abi_cross() {
  apt_install gcc-arm-linux-gnueabihf libc6-dev-armhf-cross gcc-i686-linux-gnu libc6-dev-i386-cross
  ensure_rust_src
}

# nftables and iproute2 for the kernel-level outage tests (scripts/test-faults.sh).
ensure_faults() {
  apt_install nftables iproute2
}

# A real HTTP proxy (Debian's tinyproxy) for the core's proxy test (core/tests/proxy.rs),
# started by the test itself on loopback; the package's own service is not used.
ensure_proxy() {
  apt_install tinyproxy
}

# cargo-fuzz (libFuzzer driver), installed with cargo into the cache.
ensure_cargo_fuzz() {
  local root="$DIALTONE_CACHE/cargo-fuzz"
  if [ ! -x "$root/bin/cargo-fuzz" ]; then
    log "installing cargo-fuzz into $root"
    cargo install --quiet --locked --root "$root" cargo-fuzz
  fi
  export PATH="$root/bin:$PATH"
}

# The Debian mirror this machine's apt is configured with (deb822 or one-line sources), so
# the chroot comes from wherever the machine's own packages come from.
debian_mirror() {
  local uri
  uri=$( (grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true) | awk '{print $2}' | (grep -v -- '-security' || true) | head -1)
  [ -n "$uri" ] || uri=$( (grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true) | awk '{print $2}' | (grep -v -- '-security' || true) | head -1)
  [ -n "$uri" ] || { log "no Debian mirror in the apt sources"; return 1; }
  echo "$uri"
}

ensure_swift() {
  # The marker alone: /usr/bin/swift there is an absolute symlink that only resolves inside.
  if [ -f "$SWIFT_ROOT/.dialtone-ready" ]; then return 0; fi
  apt_install debootstrap
  log "creating a Debian trixie chroot with swiftlang in $SWIFT_ROOT (one time, ~3 GB)"
  rm -rf "$SWIFT_ROOT"
  mkdir -p "$SWIFT_ROOT"
  debootstrap --variant=minbase trixie "$SWIFT_ROOT" "$(debian_mirror)" >"$DIALTONE_CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$DIALTONE_CACHE/debootstrap.log" >&2; return 1; }
  chroot "$SWIFT_ROOT" /usr/bin/env DEBIAN_FRONTEND=noninteractive bash -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends swiftlang libc6-dev libstdc++-14-dev libcurl4 ca-certificates >/dev/null' \
    || return 1
  touch "$SWIFT_ROOT/.dialtone-ready"
}

# An npm project of the repository (folder SRC: package.json, package-lock.json and the
# FILES named) installed with `npm ci` into DEST, again only when one of them changed; then
# AFTER (a shell command run in DEST; `true` for none). Install scripts are not run.
npm_project() {
  local src=$1 dest=$2 after=$3 lock f
  shift 3
  lock=$( (cd "$src" && sha256sum package-lock.json "$@") | sha256sum | cut -c1-16)
  if [ -d "$dest/node_modules" ] && [ "$(cat "$dest/.lock" 2>/dev/null)" = "$lock" ]; then return 0; fi
  log "npm ci in $dest"
  rm -rf "$dest" && mkdir -p "$dest"
  for f in package.json package-lock.json "$@"; do cp "$src/$f" "$dest/"; done
  (cd "$dest" && npm ci --ignore-scripts --silent --no-audit --no-fund >/dev/null && eval "$after")
  echo "$lock" > "$dest/.lock"
}

# Chromium, and Bandwidth's browser SDK with its dependencies pinned by
# core/tests/interop/package-lock.json, bundled into one script for the test page (esbuild's
# binary comes as its own registry package).
ensure_browser() {
  apt_install chromium iproute2
  npm_project "$REPO_ROOT/core/tests/interop" "$BW_DIR" \
    './node_modules/.bin/esbuild entry.js --bundle --format=iife --log-level=warning --outfile=bw.js' \
    entry.js
}

# AWS Amplify's JavaScript client (v6, from npm) for the mock's real-time interop test.
ensure_amplify() {
  npm_project "$REPO_ROOT/server-mock/tests/amplify" "$AMPLIFY_DIR" true amplify.mjs
}

# The speech benchmark's tools: espeak-ng makes the speech sample; wideband PESQ (ITU-T
# P.862.2) is the `pesq` package from PyPI, in a virtualenv of its own.
ensure_quality() {
  apt_install espeak-ng python3-venv
  if "$QUALITY_PYTHON" -c 'import numpy, pesq' >/dev/null 2>&1; then return 0; fi
  log "python venv with numpy and pesq (pip)"
  rm -rf "$QUALITY_VENV"
  python3 -m venv "$QUALITY_VENV"
  "$QUALITY_VENV/bin/pip" install -q --disable-pip-version-check numpy==2.* pesq==0.0.4
}

# Ends every process still running inside the chroot (a test's helper that outlived it).
kill_chroot_processes() {
  local root pid
  root=$(readlink -f "$SWIFT_ROOT")
  for pid in /proc/[0-9]*; do
    [ "$(readlink "$pid/root" 2>/dev/null)" = "$root" ] && kill -9 "${pid#/proc/}" 2>/dev/null || true
  done
}

unmount_chroot() {
  local m
  for m in src dev proc; do
    mountpoint -q "$SWIFT_ROOT/$m" && umount -l "$SWIFT_ROOT/$m" || true
  done
}

# Runs a command inside the Swift chroot with the repo bind-mounted at /src.
swift_in_chroot() {
  local repo="$1"; shift
  kill_chroot_processes
  unmount_chroot
  mkdir -p "$SWIFT_ROOT/src" "$SWIFT_ROOT/proc" "$SWIFT_ROOT/dev"
  mount -t proc proc "$SWIFT_ROOT/proc"
  mount --bind /dev "$SWIFT_ROOT/dev"
  mount --bind "$repo" "$SWIFT_ROOT/src"
  local rc=0
  chroot "$SWIFT_ROOT" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 "$@" || rc=$?
  kill_chroot_processes
  unmount_chroot
  return $rc
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-all}" in
    build) ensure_build_deps ;;
    kotlin) ensure_kotlin ;;
    swift) ensure_swift ;;
    browser) ensure_browser ;;
    amplify) ensure_amplify ;;
    fuzz) ensure_cargo_fuzz ;;
    faults) ensure_faults ;;
    proxy) ensure_proxy ;;
    quality) ensure_quality ;;
    android-target) ensure_rust_target aarch64-linux-android ;;
    arm64) ensure_arm64_cross ;;
    all) ensure_build_deps; ensure_kotlin; ensure_swift; ensure_browser; ensure_amplify; ensure_cargo_fuzz; ensure_faults; ensure_proxy; ensure_rust_target aarch64-linux-android; ensure_arm64_cross ;;
  esac
fi
