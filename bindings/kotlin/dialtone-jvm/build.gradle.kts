// The JVM jar: the same Kotlin, with the host library under JNA's resource path
// (e.g. linux-x86-64/libdialtone.so), for desktop use and unit tests off-device. Published as
// dev.dialtone:dialtone-jvm with sources and Javadoc (Dokka) jars.
plugins {
    alias(libs.plugins.kotlin.jvm)
    alias(libs.plugins.dokka)
    `maven-publish`
}

description = "Dialtone calling SDK for the JVM: Rust core (host library), Kotlin API."

sourceSets {
    main {
        kotlin.srcDirs("../dialtone-android/src/main/kotlin", "../build/generated")
        // The Android-only initialiser and the keyring's JNI class stay in the AAR.
        kotlin.exclude("dev/dialtone/android/**", "io/crates/**")
        resources.srcDirs("build/native")
    }
}

dependencies {
    implementation(libs.jna)
    api(libs.kotlinx.coroutines.core)
    testImplementation(project(":dialtone-testing"))
    testImplementation(libs.junit.jupiter)
}

publishing {
    publications {
        register<MavenPublication>("maven") {
            artifactId = "dialtone-jvm"
            from(components["java"])
        }
    }
}

tasks.test {
    useJUnitPlatform()
    environment("DIALTONE_MOCK_BIN", rootProject.file("../../target/release/dialtone-mock").absolutePath)
}
