// The AAR: generated Kotlin (build/generated, made by ../build-aar.sh), the idiomatic layer
// in src/main/kotlin, the startup initialiser and its manifest (src/main/AndroidManifest.xml),
// and jniLibs for the four Android ABIs built by cargo-ndk. Published as
// dev.dialtone:dialtone-android with sources and Javadoc (Dokka, run by AGP) jars.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
    `maven-publish`
}

description = "Dialtone calling SDK for Android: Rust core, Kotlin API (coroutines and Flow)."

android {
    namespace = "dev.dialtone"
    compileSdk = 36
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].apply {
        java.srcDirs("src/main/kotlin", "../build/generated")
        jniLibs.srcDirs("build/jniLibs")
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    packaging {
        // 16 KB page alignment (Android 15+): cargo-ndk links with max-page-size=16384 and
        // AGP must keep the libraries uncompressed and aligned in the APK.
        jniLibs.useLegacyPackaging = false
    }
    // https://developer.android.com/build/publish-library/configure-pub-variants
    publishing {
        singleVariant("release") {
            withSourcesJar()
            withJavadocJar()
        }
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
        allWarningsAsErrors.set(true)
    }
}

dependencies {
    // JNA's Android build ships its own libjnidispatch.so per ABI.
    implementation("${libs.jna.get()}@aar")
    // Flow and suspend functions are the public API: apps compile against coroutines.
    api(libs.kotlinx.coroutines.android)
    // DialtoneInitializer (the secure store's Context) runs from androidx.startup.
    implementation(libs.androidx.startup)
}

publishing {
    publications {
        register<MavenPublication>("release") {
            artifactId = "dialtone-android"
            afterEvaluate { from(components["release"]) }
        }
    }
}
