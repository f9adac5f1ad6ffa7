// The coordinator's CallSystem on Android: a self-managed PhoneAccount, so Telecom knows
// about our calls (audio focus, Bluetooth, other apps' calls on hold, the car) while the
// app draws its own UI. Incoming calls go through addNewIncomingCall, outgoing ones through
// placeCall; the ConnectionService hands each Connection back here by call id.
package dev.dialtone.sample.android

import android.content.ComponentName
import android.content.Context
import android.net.Uri
import android.os.Bundle
import android.telecom.Connection
import android.telecom.DisconnectCause
import android.telecom.PhoneAccount
import android.telecom.PhoneAccountHandle
import android.telecom.TelecomManager
import dev.dialtone.IncomingInvite
import dev.dialtone.Person
import dev.dialtone.sample.CallSystem
import dev.dialtone.sample.EndCause
import java.util.concurrent.ConcurrentHashMap

class TelecomCallSystem(private val context: Context) : CallSystem {
    private val telecom = context.getSystemService(TelecomManager::class.java)
    val handle = PhoneAccountHandle(ComponentName(context, DialtoneConnectionService::class.java), "dialtone")
    private val connections = ConcurrentHashMap<String, Connection>()
    /** What the notification shows while the Connection is being created. */
    val invites = ConcurrentHashMap<String, IncomingInvite>()

    fun registerPhoneAccount() {
        val account = PhoneAccount.builder(handle, "Dialtone")
            .setCapabilities(PhoneAccount.CAPABILITY_SELF_MANAGED)
            .setSupportedUriSchemes(listOf(SCHEME))
            .build()
        telecom.registerPhoneAccount(account)
    }

    override fun reportIncoming(invite: IncomingInvite) {
        invites[invite.callId] = invite
        val extras = Bundle().apply {
            putString(EXTRA_CALL_ID, invite.callId)
            putParcelable(TelecomManager.EXTRA_INCOMING_CALL_ADDRESS, Uri.fromParts(SCHEME, invite.handle, null))
        }
        telecom.addNewIncomingCall(handle, Bundle().apply { putBundle(TelecomManager.EXTRA_INCOMING_CALL_EXTRAS, extras) })
    }

    override fun reportOutgoing(callId: String, callee: Person) {
        val extras = Bundle().apply {
            putParcelable(TelecomManager.EXTRA_PHONE_ACCOUNT_HANDLE, handle)
            putBundle(TelecomManager.EXTRA_OUTGOING_CALL_EXTRAS, Bundle().apply {
                putString(EXTRA_CALL_ID, callId)
                putString(EXTRA_NAME, "${callee.firstName} ${callee.lastName}")
            })
        }
        // MANAGE_OWN_CALLS covers placeCall for a self-managed account.
        telecom.placeCall(Uri.fromParts(SCHEME, callee.clientId, null), extras)
    }

    override fun setActive(callId: String) {
        connections[callId]?.setActive()
        CallForegroundService.start(context, invites[callId]?.callerName ?: "Call")
    }

    override fun end(callId: String, cause: EndCause) {
        invites.remove(callId)
        Notifications.cancelIncoming(context, callId)
        connections.remove(callId)?.apply {
            setDisconnected(DisconnectCause(code(cause)))
            destroy()
        }
        if (connections.isEmpty()) CallForegroundService.stop(context)
    }

    fun attach(callId: String, connection: Connection) {
        connections[callId] = connection
    }

    companion object {
        const val SCHEME = "dialtone"
        const val EXTRA_CALL_ID = "dev.dialtone.CALL_ID"
        const val EXTRA_NAME = "dev.dialtone.NAME"

        fun code(cause: EndCause) = when (cause) {
            EndCause.LOCAL -> DisconnectCause.LOCAL
            EndCause.REMOTE -> DisconnectCause.REMOTE
            EndCause.REJECTED -> DisconnectCause.REJECTED
            EndCause.MISSED -> DisconnectCause.MISSED
            EndCause.BUSY -> DisconnectCause.BUSY
            EndCause.CANCELED -> DisconnectCause.CANCELED
            EndCause.ANSWERED_ELSEWHERE -> DisconnectCause.ANSWERED_ELSEWHERE
            EndCause.ERROR -> DisconnectCause.ERROR
        }
    }
}
