#!/usr/bin/env bash
# Builds the Android AAR (and the JVM jar) on a machine with the Android NDK and SDK.
# Requires: ANDROID_NDK_HOME, rustup targets for the four ABIs, cargo-ndk, a JDK 17 and the
# Gradle wrapper (`gradle wrapper` once, or Android Studio's).
#   bindings/kotlin/build-aar.sh            → dialtone-android/build/outputs/aar/*.aar,
#                                             dialtone-jvm and dialtone-testing jars
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

: "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to the NDK (r27 or newer)}"
command -v cargo-ndk >/dev/null || cargo install cargo-ndk --locked
rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android i686-linux-android
# std is rebuilt from source for the shipped libraries (scripts/release-flags.sh, ADR 0011).
rustup component add rust-src

# The host library's name and JNA's resource prefix for it.
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) prefix=linux-x86-64; lib=libdialtone.so ;;
  Linux-aarch64) prefix=linux-aarch64; lib=libdialtone.so ;;
  Darwin-arm64) prefix=darwin-aarch64; lib=libdialtone.dylib ;;
  Darwin-x86_64) prefix=darwin-x86-64; lib=libdialtone.dylib ;;
  *) echo "unsupported host for the JVM jar" >&2; exit 1 ;;
esac

# 1. Bindings from the unstripped host library (uniffi-bindgen cannot read a stripped one).
cargo build --release -p dialtone -p uniffi-bindgen -p dialtone-mock
rm -rf "$here/build/generated"
target/release/uniffi-bindgen generate "target/release/$lib" --language kotlin \
  --out-dir "$here/build/generated" --no-format

# 2. Android libraries, 16 KB page aligned, stripped only in the copy that ships.
jni="$here/dialtone-android/build/jniLibs"
rm -rf "$jni"
# --pack-dyn-relocs=android: Android's packed relocations (API 23+, below our minSdk 26;
# bionic's android-changes-for-ndk-developers.md, "Relative relocations"): about 600 KiB less
# per ABI than plain .rela.dyn (scripts/size.sh measures the same effect with RELR on the host).
# --icf=all: lld folds functions that compiled to the same bytes (the NDK links with lld;
# .cargo/config.toml says why it is sound for Rust): 177 KiB less on x86_64.
# The remapped source paths and std rebuilt with the release profile (about 200 KiB less per
# ABI): scripts/release-flags.sh.
. "$root/scripts/release-flags.sh"
RUSTC_BOOTSTRAP=1 \
RUSTFLAGS="-C link-arg=-Wl,-z,max-page-size=16384 -C link-arg=-Wl,--pack-dyn-relocs=android -C link-arg=-Wl,--icf=all $(release_remap_flags) $(release_unstable_rustflags)" \
CFLAGS="$(release_cflags)" \
  cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -t x86 --platform 26 -o "$jni" build --release -p dialtone \
  $(release_std_flags)
for so in "$jni"/*/libdialtone.so; do
  "$ANDROID_NDK_HOME"/toolchains/llvm/prebuilt/*/bin/llvm-strip --strip-unneeded "$so"
done

# 3. The host library for the JVM jar, under JNA's resource prefix.
mkdir -p "$here/dialtone-jvm/build/native/$prefix"
cp "target/release/$lib" "$here/dialtone-jvm/build/native/$prefix/$lib"

# 4. The mock for dialtone-testing, under the same prefix.
mkdir -p "$here/dialtone-testing/build/native/dev/dialtone/testing/$prefix"
cp target/release/dialtone-mock "$here/dialtone-testing/build/native/dev/dialtone/testing/$prefix/"

cd "$here"
./gradlew :dialtone-android:assembleRelease :dialtone-jvm:jar :dialtone-testing:jar :dialtone-jvm:test
ls -l dialtone-android/build/outputs/aar/ dialtone-jvm/build/libs/ dialtone-testing/build/libs/
