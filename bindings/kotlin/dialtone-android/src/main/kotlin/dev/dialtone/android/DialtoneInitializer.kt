// Runs once per process at startup (androidx.startup, declared in the AAR's manifest): gives
// the native secure store the application Context. Without it, the first DialtoneClient
// would fail to open its storage on a phone.
package dev.dialtone.android

import android.content.Context
import androidx.startup.Initializer
import io.crates.keyring.Keyring

class DialtoneInitializer : Initializer<Unit> {
    override fun create(context: Context) {
        Keyring.initializeNdkContext(context.applicationContext)
    }

    override fun dependencies(): List<Class<out Initializer<*>>> = emptyList()
}
