plugins {
    alias(libs.plugins.android.library) apply false
    alias(libs.plugins.kotlin.android) apply false
    alias(libs.plugins.kotlin.jvm) apply false
}

// One version for the whole SDK: the Cargo workspace's (`[workspace.package] version`), which
// the core also reports at run time (`sdkVersion()`).
val sdkVersion: String = Regex("""(?m)^version\s*=\s*"([^"]+)"""")
    .find(rootDir.resolve("../../Cargo.toml").readText())
    ?.groupValues?.get(1)
    ?: error("no version in the workspace Cargo.toml")

allprojects {
    group = "dev.dialtone"
    version = sdkVersion
}
