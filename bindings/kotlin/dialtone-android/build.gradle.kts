// The AAR: generated Kotlin (build/generated, made by ../build-aar.sh), the idiomatic layer
// in src/main/kotlin, the startup initialiser and its manifest (src/main/AndroidManifest.xml),
// and jniLibs for the four Android ABIs built by cargo-ndk.
plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

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
    kotlinOptions { jvmTarget = "17" }
    packaging {
        // 16 KB page alignment (Android 15+): cargo-ndk links with max-page-size=16384 and
        // AGP must keep the libraries uncompressed and aligned in the APK.
        jniLibs.useLegacyPackaging = false
    }
}

dependencies {
    // JNA's Android build ships its own libjnidispatch.so per ABI.
    implementation("${libs.jna.get()}@aar")
    implementation(libs.kotlinx.coroutines.android)
    // DialtoneInitializer (the secure store's Context) runs from androidx.startup.
    implementation(libs.androidx.startup)
}
