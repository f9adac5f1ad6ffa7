// The Android app: Compose UI, Firebase Messaging for incoming-call pushes, Jetpack
// Telecom (CallsManager), a phoneCall foreground service, and AudioRecord/AudioTrack.
// Its logic lives in :logic. Add app/google-services.json from your Firebase project to
// receive pushes (see README.md); without it the app builds and runs with in-app events only.
plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}
if (file("google-services.json").exists()) {
    apply(plugin = libs.plugins.google.services.get().pluginId)
}

android {
    namespace = "dev.dialtone.sample.android"
    compileSdk = 36
    defaultConfig {
        applicationId = "dev.dialtone.sample"
        minSdk = 26
        targetSdk = 36  // Google Play: new apps and updates target API 36 from 2026-08-31
        versionCode = 1
        versionName = "0.1.0"
    }
    buildFeatures { compose = true }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    packaging {
        // Keep libdialtone.so uncompressed and 16 KB aligned in the APK.
        jniLibs.useLegacyPackaging = false
    }
}

kotlin {
    compilerOptions { jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_17) }
}

dependencies {
    implementation(project(":logic"))
    implementation(libs.dialtone.android)
    implementation(libs.kotlinx.coroutines.android)
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.core.telecom)
    implementation(libs.androidx.activity.compose)
    implementation(libs.androidx.lifecycle.runtime)
    implementation(libs.androidx.lifecycle.process)
    implementation(platform(libs.compose.bom))
    implementation(libs.compose.material3)
    implementation(libs.compose.ui)
    implementation(platform(libs.firebase.bom))
    implementation(libs.firebase.messaging)
}
