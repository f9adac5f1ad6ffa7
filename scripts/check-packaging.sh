#!/usr/bin/env bash
# Checks what can be checked here of the release packaging, without Xcode or the Android SDK:
#   - the XCFramework's header layout (Headers/DialtoneFFI/module.modulemap, not at the root
#     of Headers/, linking Security) as build-xcframework.sh --layout writes it, and that its
#     header compiles as C;
#   - the Android sample declares a foreground-service permission for every type its
#     service starts with (Android 14+ throws otherwise);
#   - the JNA the AAR depends on is one whose native library is 16 KB page aligned (>= 5.17);
#   - the AAR's keyring initialiser names the JNI symbol android-native-keyring-store exports.
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
echo "[packaging] XCFramework headers: Headers/DialtoneFFI/{DialtoneFFI.h,module.modulemap}, links Security"

manifest=android-sample/app/src/main/AndroidManifest.xml
types=$(grep -o 'foregroundServiceType="[^"]*"' "$manifest" | sed 's/.*="\(.*\)"/\1/' | tr '|' '\n' | sort -u)
for t in $types; do
  perm=$(echo "FOREGROUND_SERVICE_$(echo "$t" | sed 's/\([A-Z]\)/_\1/g' | tr '[:lower:]' '[:upper:]')")
  grep -q "android.permission.$perm\"" "$manifest" || fail "foregroundServiceType $t needs android.permission.$perm"
done
echo "[packaging] foreground service types have their permissions: $(echo $types)"

# The AAR's keyring initialiser: the JNI name its Kotlin declares must be the symbol the
# linked android-native-keyring-store exports (cfg(android), so checked against its source).
kt=bindings/kotlin/dialtone-android/src/main/kotlin/io/crates/keyring/Keyring.kt
pkg=$(sed -n 's/^package \(.*\)/\1/p' "$kt" | tr '.' '_')
cls=$(sed -n 's/^class \([A-Za-z]*\).*/\1/p' "$kt")
fun=$(sed -n 's/.*external fun \([A-Za-z]*\)(.*/\1/p' "$kt")
grep -q "companion object" "$kt" || fail "Keyring.kt: the native method must be in the companion object"
! grep -qE '^[[:space:]]*@JvmStatic' "$kt" || fail "Keyring.kt: @JvmStatic would move the native method off the companion"
symbol="Java_${pkg}_${cls}_00024Companion_${fun}"
crate=$(cargo metadata --format-version 1 --locked 2>/dev/null | python3 -c '
import json,sys
m=json.load(sys.stdin)
print(next(p["manifest_path"] for p in m["packages"] if p["name"]=="android-native-keyring-store").rsplit("/",1)[0])')
grep -rq "fn $symbol(" "$crate/src" || fail "$symbol is not what android-native-keyring-store exports"
grep -q 'android:name="dev.dialtone.android.DialtoneInitializer"' bindings/kotlin/dialtone-android/src/main/AndroidManifest.xml \
  || fail "the AAR manifest does not declare DialtoneInitializer"
grep -q "Keyring.initializeNdkContext" bindings/kotlin/dialtone-android/src/main/kotlin/dev/dialtone/android/DialtoneInitializer.kt \
  || fail "DialtoneInitializer does not initialise the keyring"
echo "[packaging] AAR initialiser: $symbol, declared for androidx.startup"

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
