// The class android-native-keyring-store's JNI entry point belongs to: the crate is linked
// into libdialtone.so and exports
// Java_io_crates_keyring_Keyring_00024Companion_initializeNdkContext, which hands the
// application Context to ndk-context so the store can reach SharedPreferences and the
// Keystore. Package, class and method names must match that symbol exactly (checked by
// scripts/check-aar.sh against the symbols of the store built for aarch64-linux-android).
package io.crates.keyring

import android.content.Context

class Keyring {
    companion object {
        init {
            // The store's code lives in Dialtone's library, not in a library of its own.
            System.loadLibrary("dialtone")
        }

        // Not @JvmStatic: the native method must stay on Keyring$Companion, the class the
        // exported symbol names (`_00024Companion`).
        external fun initializeNdkContext(context: Context)
    }
}
