// Runs once per process at startup (androidx.startup, declared in the AAR's manifest): gives
// the native secure store the application Context (without it, the first DialtoneClient
// would fail to open its storage on a phone), and starts TLS checks on Android's trust
// manager when rustls-platform-verifier's Kotlin component is present (PlatformTls).
package dev.dialtone.android

import android.content.Context
import androidx.startup.Initializer
import io.crates.keyring.Keyring

class DialtoneInitializer : Initializer<Unit> {
    override fun create(context: Context) {
        Keyring.initializeNdkContext(context.applicationContext)
        // Before the first DialtoneClient: its TLS configuration is made when it opens.
        if (PlatformTls.componentPresent()) {
            PlatformTls.initialize(context.applicationContext)
        }
    }

    override fun dependencies(): List<Class<out Initializer<*>>> = emptyList()
}
