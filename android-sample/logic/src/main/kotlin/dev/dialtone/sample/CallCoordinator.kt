// The sample's call logic, free of Android: it turns pushes and the SDK's call events into
// what the phone's call system must show (Android Telecom in the app, a fake in tests),
// and the call system's answer / reject / disconnect back into SDK calls. It starts and
// stops the audio pump with the call. Its state is a StateFlow the UI renders.
package dev.dialtone.sample

import dev.dialtone.CallEndReason
import dev.dialtone.CallEvent
import dev.dialtone.CallListener
import dev.dialtone.DialtoneClient
import dev.dialtone.DialtoneException
import dev.dialtone.IgnoreReason
import dev.dialtone.IncomingInvite
import dev.dialtone.Person
import dev.dialtone.PushOutcome
import dev.dialtone.handlePush
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import java.util.UUID

/** Why a call ended, in the call system's terms (Telecom's DisconnectCause codes in the app). */
enum class EndCause { LOCAL, REMOTE, REJECTED, MISSED, BUSY, CANCELED, ANSWERED_ELSEWHERE, ERROR }

/** The platform's call system: Android Telecom's self-managed ConnectionService in the app. */
interface CallSystem {
    /** A new incoming call: Telecom's addNewIncomingCall, which leads to the full-screen UI. */
    fun reportIncoming(invite: IncomingInvite)
    /** A call this device places: Telecom's placeCall. */
    fun reportOutgoing(callId: String, callee: Person)
    /** Audio flows: Connection.setActive. */
    fun setActive(callId: String)
    /** Connection.setDisconnected(cause) and destroy. */
    fun end(callId: String, cause: EndCause)
}

/** What the UI shows. */
sealed interface CallUi {
    data object Idle : CallUi
    data class Ringing(val invite: IncomingInvite) : CallUi
    data class Dialing(val callee: Person, val calleeRinging: Boolean) : CallUi
    data class Active(val callId: String, val peer: String, val muted: Boolean) : CallUi
    data class Ended(val cause: EndCause, val detail: String? = null) : CallUi
}

class CallCoordinator(
    private val client: DialtoneClient,
    private val system: CallSystem,
    private val audio: () -> PcmDevice,
    private val scope: CoroutineScope,
) : AutoCloseable {
    private val _state = MutableStateFlow<CallUi>(CallUi.Idle)
    val state: StateFlow<CallUi> = _state.asStateFlow()

    private var current: String? = null
    private var peer: String = ""
    private var pump: AudioPump? = null

    // Subscribed here, synchronously, so no event of a call placed or pushed right after
    // construction is missed; handled in order on the scope.
    private val inbox = Channel<CallEvent>(Channel.UNLIMITED)
    private val subscription = client.observeCall(object : CallListener {
        override fun onCallEvent(event: CallEvent) {
            inbox.trySend(event)
        }
    })
    private val events: Job = scope.launch { for (event in inbox) onEvent(event) }

    /** FirebaseMessagingService.onMessageReceived: `RemoteMessage.data` as is. Never throws. */
    fun onPush(data: Map<String, String>): PushOutcome? =
        try {
            client.handlePush(data).also { outcome ->
                when (outcome) {
                    is PushOutcome.Invite -> ring(outcome.invite)
                    // Already ringing (the event channel was first), too old, or not a call:
                    // Android needs no report for those.
                    is PushOutcome.Ignored -> if (outcome.reason == IgnoreReason.EXPIRED) {
                        _state.value = CallUi.Ended(EndCause.MISSED)
                    }
                }
            }
        } catch (e: DialtoneException) {
            null // malformed push: nothing to show, nothing lost
        }

    private fun ring(invite: IncomingInvite) {
        if (current != null && _state.value !is CallUi.Ringing) return // the core ends it as busy
        current = invite.callId
        peer = invite.callerName ?: invite.handle
        _state.value = CallUi.Ringing(invite)
        system.reportIncoming(invite)
    }

    /** Telecom's onAnswer, or the in-app answer button. */
    suspend fun answer(callId: String) {
        try {
            client.answer(callId)
            startAudio()
        } catch (e: DialtoneException) {
            finish(callId, EndCause.ERROR, e.message)
        }
    }

    /** Telecom's onReject. */
    suspend fun decline(callId: String) {
        runCatching { client.decline(callId) }
        finish(callId, EndCause.REJECTED)
    }

    /** Places a call: the call system first, so the OS treats the app as in a call at once. */
    suspend fun call(callee: Person) {
        val localId = UUID.randomUUID().toString()
        current = localId
        peer = "${callee.firstName} ${callee.lastName}"
        _state.value = CallUi.Dialing(callee, calleeRinging = false)
        system.reportOutgoing(localId, callee)
        try {
            client.startCall(callee.clientId)
            startAudio()
        } catch (e: DialtoneException) {
            finish(localId, if (e is DialtoneException.Busy) EndCause.BUSY else EndCause.ERROR, e.message)
        }
    }

    /** Telecom's onDisconnect, or the hang-up button. */
    suspend fun hangUp() {
        val id = current ?: return
        runCatching { client.endCall() }
        finish(id, EndCause.LOCAL)
    }

    fun setMuted(muted: Boolean) {
        client.setMuted(muted)
        (_state.value as? CallUi.Active)?.let { _state.value = it.copy(muted = muted) }
    }

    private fun startAudio() {
        if (pump == null) pump = AudioPump(client, audio()).also { it.start() }
    }

    private fun stopAudio() {
        pump?.close()
        pump = null
    }

    private fun onEvent(event: CallEvent) {
        val id = current
        when (event) {
            is CallEvent.Incoming -> ring(event.invite)
            is CallEvent.Ringing -> (_state.value as? CallUi.Dialing)?.let { _state.value = it.copy(calleeRinging = true) }
            is CallEvent.Connected -> if (id != null) {
                _state.value = CallUi.Active(id, peer, client.isMuted())
                system.setActive(id)
            }
            is CallEvent.Ended -> if (id != null) finish(id, cause(event.reason))
            is CallEvent.IncomingEnded -> finish(event.callId, cause(event.reason))
            else -> {}
        }
    }

    private fun finish(callId: String, cause: EndCause, detail: String? = null) {
        if (callId != current) {
            // Another invite (say, a busy one during this call) ended: only the system hears it.
            system.end(callId, cause)
            return
        }
        current = null
        stopAudio()
        system.end(callId, cause)
        _state.value = CallUi.Ended(cause, detail)
    }

    override fun close() {
        subscription.cancel()
        subscription.close()
        inbox.close()
        events.cancel()
        stopAudio()
    }

    companion object {
        fun cause(reason: CallEndReason): EndCause = when (reason) {
            CallEndReason.LOCAL_HANGUP -> EndCause.LOCAL
            CallEndReason.REMOTE_ENDED -> EndCause.REMOTE
            CallEndReason.FAILED -> EndCause.ERROR
            CallEndReason.DECLINED -> EndCause.REJECTED
            CallEndReason.BUSY -> EndCause.BUSY
            CallEndReason.CANCELLED -> EndCause.CANCELED
            CallEndReason.MISSED -> EndCause.MISSED
            CallEndReason.ANSWERED_ELSEWHERE -> EndCause.ANSWERED_ELSEWHERE
        }
    }
}
