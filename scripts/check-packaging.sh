#!/usr/bin/env bash
# Checks what can be checked here of the release packaging, without Xcode or the Android SDK:
#   - the XCFramework's header layout (Headers/DialtoneFFI/module.modulemap, not at the root
#     of Headers/, linking Security) as build-xcframework.sh --layout writes it, and that its
#     header compiles as C;
#   - the Android sample declares a foreground-service permission for every type its
#     service starts with (Android 14+ throws otherwise);
#   - the JNA the AAR depends on is one whose native library is 16 KB page aligned (>= 5.17);
#   - the AAR's contents and JNI names (scripts/check-aar.sh);
#   - one version everywhere; the release script's Swift package manifest (scripts/release).
# Run after scripts/gen-bindings.sh (it reads the generated header).
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "[packaging] FAIL: $*" >&2; exit 1; }

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
bash bindings/swift/build-xcframework.sh --layout "$out/slice"
[ -f "$out/slice/Headers/DialtoneFFI/module.modulemap" ] || fail "no Headers/DialtoneFFI/module.modulemap"
[ ! -e "$out/slice/Headers/module.modulemap" ] || fail "a module.modulemap at the root of Headers/ collides with other XCFrameworks"
grep -q 'link framework "Security"' "$out/slice/Headers/DialtoneFFI/module.modulemap" || fail "the module map does not link Security"
grep -q 'header "DialtoneFFI.h"' "$out/slice/Headers/DialtoneFFI/module.modulemap" || fail "the module map does not name the header beside it"
# gcc does not know clang's nullability qualifiers; clang (Xcode) does.
printf '#include "DialtoneFFI.h"\n' > "$out/check.c"
cc -fsyntax-only -D_Nullable= -D_Nonnull= -I "$out/slice/Headers/DialtoneFFI" "$out/check.c" \
  || fail "DialtoneFFI.h does not compile as C"
grep -q 'header "dialtone_audio.h"' "$out/slice/Headers/DialtoneFFI/module.modulemap" || fail "the module map does not name the audio edge's header"
# The audio edge's header, compiled and linked against the host library as C: the two
# functions exist under those names and a gone client's handle is silence.
cat > "$out/edge.c" <<'C'
#include "dialtone_audio.h"
int main(void) {
    int16_t pcm[4] = {1, 2, 3, 4};
    if (dialtone_audio_push(0, pcm, 4) != 0) return 1;
    if (dialtone_audio_pull(0, pcm, 4) != 4) return 2;
    return pcm[0] | pcm[1] | pcm[2] | pcm[3];
}
C
lib_dir=target/debug
[ -f "$lib_dir/libdialtone.so" ] || cargo build -q --locked -p dialtone --lib
cc -o "$out/edge" -I "$out/slice/Headers/DialtoneFFI" "$out/edge.c" -L "$lib_dir" -ldialtone \
  || fail "dialtone_audio.h does not compile and link against libdialtone as C"
LD_LIBRARY_PATH="$lib_dir" "$out/edge" || fail "the audio edge did not answer a gone handle with silence ($?)"
echo "[packaging] XCFramework headers: Headers/DialtoneFFI/{DialtoneFFI.h,dialtone_audio.h,module.modulemap}, links Security; the audio edge links and runs as C"

manifest=android-sample/app/src/main/AndroidManifest.xml
types=$(grep -o 'foregroundServiceType="[^"]*"' "$manifest" | sed 's/.*="\(.*\)"/\1/' | tr '|' '\n' | sort -u)
for t in $types; do
  perm=$(echo "FOREGROUND_SERVICE_$(echo "$t" | sed 's/\([A-Z]\)/_\1/g' | tr '[:lower:]' '[:upper:]')")
  grep -q "android.permission.$perm\"" "$manifest" || fail "foregroundServiceType $t needs android.permission.$perm"
done
echo "[packaging] foreground service types have their permissions: $(echo $types)"

# The AAR's contents (manifest, classes, ProGuard rules) and its JNI names against the
# symbols the Android build of the keyring store exports.
bash scripts/check-aar.sh

# One version: the workspace's, which Gradle reads and the sample depends on.
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
grep -q 'rootDir.resolve("../../Cargo.toml")' bindings/kotlin/build.gradle.kts || fail "Gradle does not take the workspace version"
for dep in dialtone-android dialtone-jvm dialtone-testing; do
  grep -q "^$dep = .*version = \"$version\"" android-sample/gradle/libs.versions.toml \
    || fail "the sample depends on another $dep than $version"
done
echo "[packaging] one version: $version"

jna=$(sed -n 's/^jna = "\(.*\)"/\1/p' bindings/kotlin/gradle/libs.versions.toml)
[ "$(printf '%s\n5.17.0\n' "$jna" | sort -V | head -1)" = 5.17.0 ] || fail "JNA $jna: libjnidispatch.so is not 16 KB aligned before 5.17"
echo "[packaging] JNA $jna"

# The Swift package scripts/release writes for consumption by URL: SwiftPM itself reads the
# manifest, and its checksum of the zip is the one written (any zip stands in for the
# XCFramework here; nothing is downloaded).
pkg=target/swift-pkg-check
rm -rf "$pkg" && mkdir -p "$pkg"
echo "stand-in for DialtoneFFI.xcframework" > "$pkg/stand-in.txt"
(cd "$pkg" && zip -q DialtoneFFI.xcframework.zip stand-in.txt)
url="https://127.0.0.1/dialtone/$version/DialtoneFFI.xcframework.zip"
written=$(bash scripts/swift-release-package.sh "$pkg/DialtoneFFI.xcframework.zip" "$url" "$pkg/package")
source scripts/toolchains.sh
ensure_swift
swift_in_chroot "$PWD" /bin/bash -c "cd /src/$pkg/package && swift package compute-checksum ../DialtoneFFI.xcframework.zip > ../swiftpm-checksum && swift package dump-package > ../manifest.json"
[ "$(cat "$pkg/swiftpm-checksum")" = "$written" ] || fail "the written checksum $written is not SwiftPM's $(cat "$pkg/swiftpm-checksum")"
python3 - "$pkg/manifest.json" "$url" "$written" <<'PY' || fail "SwiftPM does not read the release Package.swift as intended"
import json, sys
m = json.load(open(sys.argv[1]))
ffi = next(t for t in m["targets"] if t["name"] == "DialtoneFFI")
assert ffi["type"] == "binary" and ffi["url"] == sys.argv[2] and ffi["checksum"] == sys.argv[3], ffi
assert {p["name"] for p in m["products"]} == {"Dialtone", "DialtoneTesting"}, m["products"]
PY
echo "[packaging] release Swift package: binaryTarget(url:checksum:) read by SwiftPM, checksum $written"
