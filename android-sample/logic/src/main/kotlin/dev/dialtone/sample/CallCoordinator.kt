// The sample's call logic, free of Android: it turns pushes, the SDK's incoming calls and
// each Call's state changes into what the phone's call system must show (Android Telecom in
// the app, a fake in tests), and the call system's answer / reject / disconnect back into
// actions on the Call. It starts and stops the audio pump with the call. Its state is a
// StateFlow the UI renders. Run its suspend functions from an application-level scope: the
// SDK completes answer / decline / hangup even if the awaiting coroutine is cancelled.
package dev.dialtone.sample

import dev.dialtone.Call
import dev.dialtone.CallEndReason
import dev.dialtone.CallEvent
import dev.dialtone.CallListener
import dev.dialtone.CallState
import dev.dialtone.DialtoneClient
import dev.dialtone.DialtoneException
import dev.dialtone.IgnoreReason
import dev.dialtone.IncomingCallListener
import dev.dialtone.IncomingInvite
import dev.dialtone.placeCall
import dev.dialtone.Person
import dev.dialtone.PushOutcome
import dev.dialtone.handlePush
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.Job
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.util.UUID
import java.util.concurrent.atomic.AtomicReference

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

    // Thread confinement: `current`, `systemId` and `peer` are read and written only by
    // coroutines running on `confined` (one at a time, each seeing the last one's writes), so
    // they need no lock and no @Volatile. The SDK's suspend calls run outside it, so a slow
    // network never holds up the call system's callbacks.
    @OptIn(ExperimentalCoroutinesApi::class)
    private val confined = Dispatchers.Default.limitedParallelism(1)

    /** The call on screen, and the id the call system knows it by (ours, for a placed call). */
    private var current: Call? = null
    private var systemId: String? = null
    private var peer: String = ""

    /** The audio pump: started and stopped from any thread, at most once each. */
    private val pump = AtomicReference<AudioPump?>(null)

    // Subscribed here, synchronously, so no event of a call placed or pushed right after
    // construction is missed; handled in order on `confined`. Every event names its call.
    private val inbox = Channel<Any>(Channel.UNLIMITED)
    private val subscription = client.observeCall(object : CallListener {
        override fun onCallEvent(event: CallEvent) {
            inbox.trySend(event)
        }
    })
    private val incoming = client.observeIncomingCalls(object : IncomingCallListener {
        override fun onIncomingCall(call: Call) {
            inbox.trySend(Ring(call, inviteOf(call)))
        }
    })
    private val events: Job = scope.launch(confined) {
        for (item in inbox) when (item) {
            is CallEvent -> onEvent(item)
            is Ring -> ring(item.call, item.invite)
            is Expired -> _state.value = CallUi.Ended(EndCause.MISSED)
        }
    }

    private class Ring(val call: Call, val invite: IncomingInvite)
    private data object Expired

    /**
     * FirebaseMessagingService.onMessageReceived: `RemoteMessage.data` as is. Never throws;
     * the call system hears of the call from the coordinator's own context right after.
     */
    fun onPush(data: Map<String, String>): PushOutcome? =
        try {
            client.handlePush(data).also { outcome ->
                when (outcome) {
                    is PushOutcome.Invite -> client.call(outcome.invite.callId)?.let { inbox.trySend(Ring(it, outcome.invite)) }
                    // Already ringing (the event channel was first), too old, or not a call:
                    // Android needs no report for those.
                    is PushOutcome.Ignored -> if (outcome.reason == IgnoreReason.EXPIRED) inbox.trySend(Expired)
                }
            }
        } catch (e: DialtoneException) {
            null // malformed push: nothing to show, nothing lost
        }

    private fun ring(call: Call, invite: IncomingInvite) {
        if (current?.id() == call.id()) return // the push and the event channel: one ring
        if (current != null && _state.value !is CallUi.Ringing) return // the core ends it as busy
        if (call.state() != CallState.Ringing) return
        current = call
        systemId = call.id()
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
            withContext(confined) { finish(callId, EndCause.ERROR, e.message) }
        }
    }

    /** Telecom's onReject. */
    suspend fun decline(callId: String) {
        runCatching { client.decline(callId) }
        withContext(confined) { finish(callId, EndCause.REJECTED) }
    }

    /** Places a call: the call system first, so the OS treats the app as in a call at once. */
    suspend fun call(callee: Person) {
        val localId = UUID.randomUUID().toString()
        withContext(confined) {
            systemId = localId
            peer = "${callee.firstName} ${callee.lastName}"
            _state.value = CallUi.Dialing(callee, calleeRinging = false)
            system.reportOutgoing(localId, callee)
        }
        try {
            val call = client.placeCall(callee.clientId)
            startAudio()
            withContext(confined) {
                current = call
                // Events of the call before `current` was set are rendered from its state now.
                render(call.state())
            }
        } catch (e: DialtoneException) {
            withContext(confined) { finish(localId, if (e is DialtoneException.Busy) EndCause.BUSY else EndCause.ERROR, e.message) }
        }
    }

    /** Telecom's onDisconnect, or the hang-up button. */
    suspend fun hangUp() {
        val (id, call) = withContext(confined) { systemId to current }
        if (id == null) return
        runCatching { if (call != null) call.hangup() else client.endCall() }
        withContext(confined) { finish(id, EndCause.LOCAL) }
    }

    /** Whether [callId] is the call ringing on screen (Telecom's disconnect then declines it). */
    fun isRinging(callId: String): Boolean = (_state.value as? CallUi.Ringing)?.invite?.callId == callId

    fun setMuted(muted: Boolean) {
        client.setMuted(muted)
        _state.update { (it as? CallUi.Active)?.copy(muted = muted) ?: it }
    }

    private fun startAudio() {
        if (pump.get() != null) return
        val fresh = AudioPump(client, audio())
        if (pump.compareAndSet(null, fresh)) fresh.start() else fresh.close()
    }

    private fun stopAudio() {
        pump.getAndSet(null)?.close()
    }

    private fun onEvent(event: CallEvent) {
        if (event !is CallEvent.StateChanged) return
        if (event.callId != current?.id()) {
            // Another call (say, a busy invite during this one) ended: only the system hears it.
            val state = event.state
            if (state is CallState.Ended) system.end(event.callId, cause(state.reason))
            return
        }
        render(event.state)
    }

    private fun render(state: CallState) {
        val id = systemId ?: return
        when (state) {
            is CallState.Ringing -> (_state.value as? CallUi.Dialing)?.let { _state.value = it.copy(calleeRinging = true) }
            is CallState.Connected -> if (_state.value !is CallUi.Active) {
                _state.value = CallUi.Active(id, peer, client.isMuted())
                system.setActive(id)
            }
            is CallState.Ended -> finish(id, cause(state.reason))
            else -> {}
        }
    }

    private fun finish(callId: String, cause: EndCause, detail: String? = null) {
        if (callId != systemId) {
            system.end(callId, cause)
            return
        }
        current = null
        systemId = null
        stopAudio()
        system.end(callId, cause)
        _state.value = CallUi.Ended(cause, detail)
    }

    override fun close() {
        subscription.cancel()
        subscription.close()
        incoming.cancel()
        incoming.close()
        inbox.close()
        events.cancel()
        stopAudio()
    }

    companion object {
        fun inviteOf(call: Call) = IncomingInvite(
            call.id(),
            call.remoteName(),
            call.remoteClientId() ?: call.remoteName() ?: "Unknown",
            System.currentTimeMillis(),
            call.roomId(),
            null,
        )

        fun cause(reason: CallEndReason): EndCause = when (reason) {
            CallEndReason.LOCAL_HANGUP -> EndCause.LOCAL
            CallEndReason.REMOTE_ENDED -> EndCause.REMOTE
            CallEndReason.FAILED, CallEndReason.CONNECTION_LOST -> EndCause.ERROR
            CallEndReason.DECLINED -> EndCause.REJECTED
            CallEndReason.BUSY -> EndCause.BUSY
            CallEndReason.CANCELLED -> EndCause.CANCELED
            CallEndReason.MISSED -> EndCause.MISSED
            CallEndReason.ANSWERED_ELSEWHERE -> EndCause.ANSWERED_ELSEWHERE
        }
    }
}
