// Telecom's side of our calls. For an incoming call it creates a ringing Connection and,
// when Telecom says so (onShowIncomingCallUi), posts the full-screen incoming-call
// notification; answer / reject / disconnect from anywhere (our UI, a headset, a car) come
// back here and go to the coordinator.
package dev.dialtone.sample.android

import android.net.Uri
import android.telecom.Connection
import android.telecom.ConnectionRequest
import android.telecom.ConnectionService
import android.telecom.PhoneAccountHandle
import android.telecom.TelecomManager
import kotlinx.coroutines.launch

class DialtoneConnectionService : ConnectionService() {
    private val app get() = SampleApp.of(this)

    override fun onCreateIncomingConnection(account: PhoneAccountHandle?, request: ConnectionRequest): Connection {
        val extras = request.extras.getBundle(TelecomManager.EXTRA_INCOMING_CALL_EXTRAS) ?: request.extras
        val callId = extras.getString(TelecomCallSystem.EXTRA_CALL_ID).orEmpty()
        val invite = app.telecom.invites[callId]
        return DialtoneConnection(callId).apply {
            setAddress(request.address ?: Uri.fromParts(TelecomCallSystem.SCHEME, callId, null), TelecomManager.PRESENTATION_ALLOWED)
            setCallerDisplayName(invite?.callerName ?: invite?.handle ?: "Unknown", TelecomManager.PRESENTATION_ALLOWED)
            setRinging()
            app.telecom.attach(callId, this)
        }
    }

    override fun onCreateIncomingConnectionFailed(account: PhoneAccountHandle?, request: ConnectionRequest) {
        // Telecom refused (say, an emergency call is on): decline rather than ring silently.
        val callId = request.extras.getBundle(TelecomManager.EXTRA_INCOMING_CALL_EXTRAS)?.getString(TelecomCallSystem.EXTRA_CALL_ID)
        if (callId != null) app.scope.launch { app.calls.decline(callId) }
    }

    override fun onCreateOutgoingConnection(account: PhoneAccountHandle?, request: ConnectionRequest): Connection {
        val extras = request.extras
        val callId = extras.getString(TelecomCallSystem.EXTRA_CALL_ID).orEmpty()
        return DialtoneConnection(callId).apply {
            setAddress(request.address, TelecomManager.PRESENTATION_ALLOWED)
            setCallerDisplayName(extras.getString(TelecomCallSystem.EXTRA_NAME), TelecomManager.PRESENTATION_ALLOWED)
            setDialing()
            app.telecom.attach(callId, this)
        }
    }

    override fun onCreateOutgoingConnectionFailed(account: PhoneAccountHandle?, request: ConnectionRequest) {
        app.scope.launch { app.calls.hangUp() }
    }

    inner class DialtoneConnection(private val callId: String) : Connection() {
        init {
            connectionProperties = PROPERTY_SELF_MANAGED
            audioModeIsVoip = true
            connectionCapabilities = CAPABILITY_MUTE or CAPABILITY_SUPPORT_HOLD
        }

        override fun onShowIncomingCallUi() {
            app.telecom.invites[callId]?.let { Notifications.showIncoming(this@DialtoneConnectionService, it) }
        }

        override fun onAnswer() {
            Notifications.cancelIncoming(this@DialtoneConnectionService, callId)
            CallForegroundService.start(this@DialtoneConnectionService, app.telecom.invites[callId]?.callerName ?: "Call")
            app.scope.launch { app.calls.answer(callId) }
        }

        override fun onReject() {
            app.scope.launch { app.calls.decline(callId) }
        }

        override fun onDisconnect() {
            app.scope.launch { app.calls.hangUp() }
        }

        override fun onAbort() = onDisconnect()
    }
}
