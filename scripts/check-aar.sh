#!/usr/bin/env bash
# The AAR's contents, checked without the Android SDK: assembles the parts of
# dialtone-android's AAR that can be built here — AndroidManifest.xml, classes.jar with the
# startup initialiser and the keyring's JNI class (compiled by kotlinc against stand-ins for
# android.content.Context and androidx.startup.Initializer, which are not packaged),
# proguard.txt from consumer-rules.pro — zips it as AGP lays an AAR out, unpacks it, and
# checks it: the manifest's initialiser is in classes.jar, ProGuard keeps the JNI class,
# no stand-in leaked in, and (on the JVM, scripts' AarCheck) every native method's JNI name
# is a symbol the library exports when built for aarch64-linux-android (the keyring store's
# and the platform verifier's start).
# What is not here: jni/<abi>/libdialtone.so (needs the NDK; build-aar.sh makes them).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchains.sh
ensure_kotlin
ensure_rust_target aarch64-linux-android
fail() { echo "[aar] FAIL: $*" >&2; exit 1; }

out=target/aar-check
rm -rf "$out" && mkdir -p "$out/classes" "$out/stubs" "$out/aar" "$out/unpacked"
android=bindings/kotlin/dialtone-android
here=bindings/kotlin/aar-check

# 1. The JNI symbols the Android library exports: the keyring store's and the platform
#    verifier's start (core/src/backend/android_tls.rs), from the library built for
#    aarch64-linux-android as shipped (scripts/android-standin.sh; scripts/size.sh reuses it).
ensure_arm64_cross
. scripts/android-standin.sh
so="$(android_standin_build)"
nm -D --defined-only "$so" 2>/dev/null | awk '$2 == "T" && $3 ~ /^Java_/ {print $3}' | sort -u > "$out/symbols.txt"
[ -s "$out/symbols.txt" ] || fail "no JNI symbol in $so"

# 2. The AAR's classes, against the stand-ins.
javac --release 17 -d "$out/stubs" $(find "$here/stubs" -name "*.java") 2>&1 || fail "the stand-ins do not compile"
"$KOTLIN_HOME/bin/kotlinc" -Werror -jvm-target 17 -cp "$out/stubs" -d "$out/classes" \
  $(find "$android/src/main/kotlin/dev/dialtone/android" "$android/src/main/kotlin/io/crates" -name '*.kt') 2>&1 | grep -v '^warning:' || true
[ -f "$out/classes/io/crates/keyring/Keyring.class" ] || fail "the AAR's classes did not compile"

# 3. The AAR as AGP lays it out, then unpacked as a consumer's build would read it.
(cd "$out/classes" && jar cf ../aar/classes.jar .)
cp "$android/src/main/AndroidManifest.xml" "$out/aar/AndroidManifest.xml"
cp "$android/consumer-rules.pro" "$out/aar/proguard.txt"
: > "$out/aar/R.txt"
(cd "$out/aar" && zip -q -r ../dialtone-android-partial.aar .)
(cd "$out/unpacked" && unzip -q ../dialtone-android-partial.aar && mkdir classes && cd classes && jar xf ../classes.jar)

u="$out/unpacked"
for f in AndroidManifest.xml classes.jar proguard.txt R.txt; do [ -f "$u/$f" ] || fail "the AAR has no $f"; done
init=$(grep -B1 'android:value="androidx.startup"' "$u/AndroidManifest.xml" | sed -n 's/.*android:name="\([^"]*\)".*/\1/p')
[ -n "$init" ] || fail "the manifest names no androidx.startup initialiser"
[ -f "$u/classes/$(echo "$init" | tr . /).class" ] || fail "the manifest's $init is not in classes.jar"
grep -q 'androidx.startup.InitializationProvider' "$u/AndroidManifest.xml" || fail "the manifest does not merge into InitializationProvider"
grep -q '^-keep class io.crates.keyring.\*\* { \*; }' "$u/proguard.txt" || fail "proguard.txt does not keep io.crates.keyring (JNI binds it by name)"
grep -q '^-keep class org.rustls.platformverifier.\*\* { \*; }' "$u/proguard.txt" || fail "proguard.txt does not keep org.rustls.platformverifier (the verifier calls it through JNI)"
grep -q '^-keep class dev.dialtone.\*\* { \*; }' "$u/proguard.txt" || fail "proguard.txt does not keep dev.dialtone (JNA reaches it by name)"
[ ! -e "$u/classes/android" ] && [ ! -e "$u/classes/androidx" ] || fail "a compile-time stand-in leaked into classes.jar"
echo "[aar] unpacked: AndroidManifest.xml ($init), classes.jar ($(cd "$u/classes" && find . -name '*.class' | wc -l) classes), proguard.txt, R.txt"

# 4. On the JVM: the initialiser's shape and the JNI names against the exported symbols.
"$KOTLIN_HOME/bin/kotlinc" -Werror -jvm-target 17 -d "$out/checker" "$here/src/AarCheck.kt" 2>&1 | grep -v '^warning:' || true
java -cp "$out/checker:$u/classes:$out/stubs:$KOTLIN_HOME/lib/kotlin-stdlib.jar" AarCheckKt \
  "$out/symbols.txt" "$init" 'io.crates.keyring.Keyring$Companion' 'dev.dialtone.android.PlatformTls'
