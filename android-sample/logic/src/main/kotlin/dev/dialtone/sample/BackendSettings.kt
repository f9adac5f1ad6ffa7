// Which backend the sample talks to, chosen on its settings screen: the real one (AWS +
// Bandwidth) or the bundled mock, by default on the development machine as the Android
// emulator sees it (10.0.2.2). Plain Kotlin; the app stores it in SharedPreferences.
package dev.dialtone.sample

import dev.dialtone.BackendConfig

sealed interface BackendSettings {
    /** Builds the SDK configuration; a bad URL is a typed `DialtoneException.InvalidInput`. */
    fun toConfig(): BackendConfig

    data class Mock(val baseUrl: String = EMULATOR_HOST_MOCK, val apiKey: String? = null) : BackendSettings {
        override fun toConfig(): BackendConfig = BackendConfig.mock(baseUrl, apiKey)
    }

    data class Real(
        val restUrl: String,
        val graphqlUrl: String,
        val graphqlApiKey: String,
        val signalingUrl: String = "wss://device.webrtc.bandwidth.com/v3/",
        val eventsUrl: String? = null,
    ) : BackendSettings {
        override fun toConfig(): BackendConfig =
            BackendConfig.aws(restUrl, graphqlUrl, graphqlApiKey, signalingUrl, eventsUrl)

        /** The API key is a credential: never shown in full. */
        override fun toString() = "Real(restUrl=$restUrl, graphqlUrl=$graphqlUrl, signalingUrl=$signalingUrl)"
    }

    companion object {
        /** The host machine as the Android emulator sees it, at the mock's usual port. */
        const val EMULATOR_HOST_MOCK = "http://10.0.2.2:8080"
    }
}

/** Where the settings live (SharedPreferences in the app, a map in tests). */
interface SettingsStore {
    fun load(): BackendSettings?
    fun save(settings: BackendSettings)
}
