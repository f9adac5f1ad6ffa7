// Backend settings in SharedPreferences. The AppSync API key is a configuration value
// the app ships anyway (BACKEND.md); the SDK keeps the real secrets (clientId, client
// secret) in the Android keystore-backed store, not here.
package dev.dialtone.sample.android

import android.content.Context
import dev.dialtone.sample.BackendSettings
import dev.dialtone.sample.SettingsStore

class PrefsSettingsStore(context: Context) : SettingsStore {
    private val prefs = context.getSharedPreferences("backend", Context.MODE_PRIVATE)

    override fun load(): BackendSettings? = when (prefs.getString("kind", null)) {
        "mock" -> BackendSettings.Mock(
            prefs.getString("mockUrl", BackendSettings.EMULATOR_HOST_MOCK)!!,
            prefs.getString("mockKey", null),
        )
        "real" -> BackendSettings.Real(
            restUrl = prefs.getString("restUrl", "")!!,
            graphqlUrl = prefs.getString("graphqlUrl", "")!!,
            graphqlApiKey = prefs.getString("graphqlKey", "")!!,
            signalingUrl = prefs.getString("signalingUrl", "wss://device.webrtc.bandwidth.com/v3/")!!,
            eventsUrl = prefs.getString("eventsUrl", null),
        )
        else -> null
    }

    override fun save(settings: BackendSettings) {
        prefs.edit().clear().apply {
            when (settings) {
                is BackendSettings.Mock -> {
                    putString("kind", "mock")
                    putString("mockUrl", settings.baseUrl)
                    putString("mockKey", settings.apiKey)
                }
                is BackendSettings.Real -> {
                    putString("kind", "real")
                    putString("restUrl", settings.restUrl)
                    putString("graphqlUrl", settings.graphqlUrl)
                    putString("graphqlKey", settings.graphqlApiKey)
                    putString("signalingUrl", settings.signalingUrl)
                    putString("eventsUrl", settings.eventsUrl)
                }
            }
        }.apply()
    }
}
