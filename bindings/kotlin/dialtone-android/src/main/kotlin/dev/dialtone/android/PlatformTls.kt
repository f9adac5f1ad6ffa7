// Starts the SDK's TLS certificate checks on Android's own trust manager (user and enterprise
// CAs, revocation), through rustls-platform-verifier. Its native entry point is in
// libdialtone.so (core/src/backend/android_tls.rs); its Kotlin component
// (org.rustls.platformverifier.CertificateVerifier) comes from the Maven artifact
// rustls:rustls-platform-verifier that the app's build adds. Without that class the SDK
// checks servers against the Mozilla roots built into the library.
package dev.dialtone.android

import android.content.Context

object PlatformTls {
    init {
        System.loadLibrary("dialtone")
    }

    /** True when rustls-platform-verifier's Kotlin component is on the class path. */
    fun componentPresent(): Boolean =
        runCatching { Class.forName("org.rustls.platformverifier.CertificateVerifier") }.isSuccess

    /** Hands the application Context to the verifier; true once it is ready. */
    @JvmStatic
    external fun initialize(context: Context): Boolean
}
