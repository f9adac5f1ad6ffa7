// The sample's logic in plain Kotlin: no Android classes, so it compiles against the
// Dialtone JVM jar and its tests run on any JVM against dialtone-mock. The app supplies the
// AAR at run time (same generated classes), hence compileOnly here.
plugins {
    alias(libs.plugins.kotlin.jvm)
}

kotlin { jvmToolchain(17) }

dependencies {
    compileOnly(libs.dialtone.jvm)
    implementation(libs.kotlinx.coroutines.core)
    testImplementation(libs.dialtone.jvm)
    testImplementation(libs.dialtone.testing)
    testImplementation(libs.junit.jupiter)
}

tasks.test {
    useJUnitPlatform()
    // The tests start their own dialtone-mock (built by `cargo build -p dialtone-mock`).
    environment("DIALTONE_MOCK_BIN", rootProject.file("../target/debug/dialtone-mock").path)
}
