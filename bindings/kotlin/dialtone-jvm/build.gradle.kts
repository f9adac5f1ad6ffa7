// The JVM jar: the same Kotlin, with the host library under JNA's resource path
// (e.g. linux-x86-64/libdialtone.so), for desktop use and unit tests off-device.
plugins {
    alias(libs.plugins.kotlin.jvm)
}

kotlin { jvmToolchain(17) }

sourceSets {
    main {
        kotlin.srcDirs("../dialtone-android/src/main/kotlin", "../build/generated")
        resources.srcDirs("build/native")
    }
}

dependencies {
    implementation(libs.jna)
    implementation(libs.kotlinx.coroutines.core)
    testImplementation(libs.junit.jupiter)
}

tasks.test {
    useJUnitPlatform()
    environment("DIALTONE_MOCK_BIN", rootProject.file("../../target/release/dialtone-mock").absolutePath)
}
