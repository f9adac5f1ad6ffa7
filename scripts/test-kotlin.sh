#!/usr/bin/env bash
# Compiles the generated Kotlin, the idiomatic layer, the Android sample's plain-Kotlin
# logic (android-sample/logic), dialtone-testing and both JUnit 5 suites with kotlinc and runs them on the JVM,
# with JNA loading the host library from target/debug. Expects scripts/gen-bindings.sh to
# have run and scripts/toolchains.sh to provide kotlinc.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchains.sh
ensure_kotlin
out=bindings/kotlin/build/jvm-test
rm -rf "$out" && mkdir -p "$out"
cp="/usr/share/java/jna.jar:$KOTLIN_HOME/lib/kotlinx-coroutines-core-jvm.jar:/usr/share/java/junit-jupiter-api.jar:/usr/share/java/apiguardian-api.jar:/usr/share/java/opentest4j.jar:/usr/share/java/junit-platform-commons.jar"
echo "[kotlin] compiling bindings and tests"
"$KOTLIN_HOME/bin/kotlinc" -Werror -jvm-target 17 -cp "$cp" -d "$out" \
  bindings/kotlin/build/generated/dev/dialtone/dialtone.kt \
  $(find bindings/kotlin/dialtone-android/src/main/kotlin -name '*.kt' -not -path '*/io/crates/*' -not -path '*/dev/dialtone/android/*') \
  $(find bindings/kotlin/dialtone-testing/src/main/kotlin -name '*.kt') \
  $(find bindings/kotlin/dialtone-jvm/src/test/kotlin -name '*.kt') \
  $(find android-sample/logic/src -name '*.kt') 2>&1 | grep -v '^warning:' || true
[ -f "$out/dev/dialtone/FoundationTest.class" ] && [ -f "$out/dev/dialtone/sample/CoordinatorTest.class" ] || { echo "[kotlin] compilation failed" >&2; exit 1; }
echo "[kotlin] running JUnit 5"
# The tests' client data directories go to a temporary folder of our own, removed afterwards
# (a JVM shutdown hook cannot do it: JUnit's class loader is closed by then).
tmp="$PWD/target/kotlin-tmp"; rm -rf "$tmp"; mkdir -p "$tmp"; trap 'rm -rf "$tmp"' EXIT
DIALTONE_MOCK_BIN="$PWD/target/debug/dialtone-mock" \
java -Djava.io.tmpdir="$tmp" -Djna.library.path="$PWD/target/debug" -jar /usr/share/java/junit-platform-console-standalone.jar \
  -cp "$out:$cp:$KOTLIN_HOME/lib/kotlin-stdlib.jar" --scan-classpath "$out" --disable-banner --disable-ansi-colors --details=tree --fail-if-no-tests
