// The process-wide objects: one DialtoneClient for the chosen backend, the view-model, the
// call coordinator wired to Telecom and the microphone/speaker, and the notification
// channels. Everything else (activities, services) reaches them through `SampleApp.of`.
package dev.dialtone.sample.android

import android.app.Application
import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import android.media.AudioAttributes
import android.media.RingtoneManager
import dev.dialtone.DialtoneClient
import dev.dialtone.LogLevel
import dev.dialtone.LogSink
import dev.dialtone.initLogging
import dev.dialtone.sample.AppModel
import dev.dialtone.sample.CallCoordinator
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch

class SampleApp : Application() {
    /** Lives as long as the process: calls must outlast any screen. */
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    lateinit var settings: PrefsSettingsStore
        private set
    lateinit var client: DialtoneClient
        private set
    lateinit var model: AppModel
        private set
    lateinit var calls: CallCoordinator
        private set
    lateinit var telecom: TelecomCallSystem
        private set

    override fun onCreate() {
        super.onCreate()
        // Logcat gets the SDK's (redacted) logs; this callback could forward them to a crash reporter.
        initLogging(LogLevel.INFO, null as LogSink?)
        settings = PrefsSettingsStore(this)
        telecom = TelecomCallSystem(this, scope)
        telecom.register()
        createChannels()
        connect()
        watchNetwork()
    }

    /**
     * Tells the SDK when the default network changes (Wi-Fi ↔ cellular), so a call restarts
     * ICE at once instead of waiting for its connection to time out. The first callback is
     * the current network, not a change.
     */
    private fun watchNetwork() {
        val connectivity = getSystemService(android.net.ConnectivityManager::class.java) ?: return
        connectivity.registerDefaultNetworkCallback(object : android.net.ConnectivityManager.NetworkCallback() {
            private var current: android.net.Network? = null

            override fun onAvailable(network: android.net.Network) {
                val changed = current != null && current != network
                current = network
                if (changed && this@SampleApp::client.isInitialized) {
                    scope.launch { runCatching { client.networkChanged() } }
                }
            }
        })
    }

    /** (Re)creates the client for the current backend settings (after a change in Settings). */
    fun connect() {
        if (this::calls.isInitialized) calls.close()
        if (this::model.isInitialized) model.close()
        if (this::client.isInitialized) client.close()
        val backend = settings.load() ?: dev.dialtone.sample.BackendSettings.Mock()
        // One data directory per backend: a clientId from the mock means nothing to AWS.
        val dir = filesDir.resolve("dialtone-" + backend.javaClass.simpleName.lowercase())
        client = DialtoneClient(backend.toConfig(), dir.path)
        model = AppModel(client, scope)
        calls = CallCoordinator(client, telecom, { AndroidPcmDevice() }, scope)
    }

    private fun createChannels() {
        val nm = getSystemService(NotificationManager::class.java)
        val ring = NotificationChannel(CHANNEL_INCOMING, getString(R.string.channel_incoming), NotificationManager.IMPORTANCE_HIGH).apply {
            setSound(
                RingtoneManager.getDefaultUri(RingtoneManager.TYPE_RINGTONE),
                AudioAttributes.Builder().setUsage(AudioAttributes.USAGE_NOTIFICATION_RINGTONE).build(),
            )
        }
        val ongoing = NotificationChannel(CHANNEL_ONGOING, getString(R.string.channel_ongoing), NotificationManager.IMPORTANCE_LOW)
        nm.createNotificationChannels(listOf(ring, ongoing))
    }

    companion object {
        const val CHANNEL_INCOMING = "incoming_calls"
        const val CHANNEL_ONGOING = "ongoing_call"
        fun of(context: Context) = context.applicationContext as SampleApp
    }
}
