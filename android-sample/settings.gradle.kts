// The Dialtone Android sample: `:app` (the Android app) and `:logic` (its plain-Kotlin
// view-model and call coordinator, unit-tested on the JVM). The SDK comes from the
// bindings build next door: dialtone-android (the AAR) for the app, dialtone-jvm (the jar
// with the host library) for :logic's tests.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "dialtone-sample"
include(":app", ":logic")
includeBuild("../bindings/kotlin") {
    dependencySubstitution {
        substitute(module("dev.dialtone:dialtone-android")).using(project(":dialtone-android"))
        substitute(module("dev.dialtone:dialtone-jvm")).using(project(":dialtone-jvm"))
    }
}
