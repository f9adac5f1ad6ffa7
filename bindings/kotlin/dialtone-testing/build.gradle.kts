// dialtone-testing: the bundled mock backend for an app's own JVM tests (JUnit, Robolectric,
// or any JVM suite). The jar carries dialtone-mock for the build host under
// dev/dialtone/testing/<os-arch>/ (copied by ../build-aar.sh), starts it on a free loopback
// port, and places real calls with tones through it. Published as dev.dialtone:dialtone-testing.
plugins {
    alias(libs.plugins.kotlin.jvm)
    alias(libs.plugins.dokka)
    `maven-publish`
}

description = "Dialtone's offline mock backend and call helpers for an app's JVM tests."

sourceSets {
    main {
        resources.srcDirs("build/native")
    }
}

dependencies {
    api(project(":dialtone-jvm"))
    implementation(libs.jna) // Platform.RESOURCE_PREFIX names the packaged mock
    api(libs.kotlinx.coroutines.core)
}

publishing {
    publications {
        register<MavenPublication>("maven") {
            artifactId = "dialtone-testing"
            from(components["java"])
        }
    }
}
