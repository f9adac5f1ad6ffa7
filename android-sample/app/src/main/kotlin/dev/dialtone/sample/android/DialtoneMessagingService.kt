// FCM: every data message goes to the SDK exactly as Firebase hands it over. handlePush is
// synchronous and does no network I/O, so a call rings (Telecom + full-screen notification)
// within the few seconds Android grants a high-priority message, even from a cold start.
package dev.dialtone.sample.android

import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import kotlinx.coroutines.launch

class DialtoneMessagingService : FirebaseMessagingService() {
    override fun onMessageReceived(message: RemoteMessage) {
        SampleApp.of(this).calls.onPush(message.data)
    }

    override fun onNewToken(token: String) {
        val app = SampleApp.of(this)
        app.scope.launch { app.model.onNewPushToken(token) }
    }
}
