// The coordinator's CallSystem on Android, on Jetpack Telecom (androidx.core:core-telecom,
// CallsManager): Telecom knows about our calls (audio focus, other apps' calls on hold, the
// car, wearables) and owns the audio route, while the app draws its own UI. Each call is one
// `addCall` coroutine in the app scope; its CallControlScope is kept by call id so the
// coordinator's setActive / end reach it, and Telecom's answer / disconnect (from a headset,
// a car, a watch) come back to the coordinator. The route (earpiece, speaker, wired,
// Bluetooth) is Telecom's CallEndpointCompat: offered in `routes`, chosen with `selectRoute`.
// https://developer.android.com/develop/connectivity/telecom/voip-app/telecom
package dev.dialtone.sample.android

import android.content.Context
import android.net.Uri
import android.telecom.DisconnectCause
import androidx.core.telecom.CallAttributesCompat
import androidx.core.telecom.CallControlResult
import androidx.core.telecom.CallControlScope
import androidx.core.telecom.CallEndpointCompat
import androidx.core.telecom.CallsManager
import dev.dialtone.IncomingInvite
import dev.dialtone.Person
import dev.dialtone.sample.CallSystem
import dev.dialtone.sample.EndCause
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import java.util.concurrent.ConcurrentHashMap

/** The audio routes Telecom offers for the current call, and the one in use. */
data class Routes(val available: List<CallEndpointCompat> = emptyList(), val current: CallEndpointCompat? = null)

class TelecomCallSystem(private val context: Context, private val scope: CoroutineScope) : CallSystem {
    private val callsManager = CallsManager(context)

    /** What one Telecom call is asked to do, in order, inside its CallControlScope. */
    private sealed interface Command {
        data object Activate : Command
        data class End(val cause: EndCause) : Command
        data class Route(val endpoint: CallEndpointCompat) : Command
    }

    private class TelecomCall(val incoming: Boolean) {
        val commands = Channel<Command>(Channel.UNLIMITED)
    }

    private val calls = ConcurrentHashMap<String, TelecomCall>()
    /** What the incoming-call notification shows. */
    val invites = ConcurrentHashMap<String, IncomingInvite>()

    private val _routes = MutableStateFlow(Routes())
    val routes: StateFlow<Routes> = _routes.asStateFlow()

    /** Once, at start-up: a baseline (audio) calling app. Needs MANAGE_OWN_CALLS. */
    fun register() {
        callsManager.registerAppWithTelecom(CallsManager.CAPABILITY_BASELINE)
    }

    override fun reportIncoming(invite: IncomingInvite) {
        invites[invite.callId] = invite
        add(invite.callId, invite.callerName ?: invite.handle, invite.handle, incoming = true)
        // Jetpack Telecom shows no UI: the app posts the CallStyle notification itself.
        Notifications.showIncoming(context, invite)
    }

    override fun reportOutgoing(callId: String, callee: Person) {
        add(callId, "${callee.firstName} ${callee.lastName}", callee.clientId, incoming = false)
    }

    override fun setActive(callId: String) {
        calls[callId]?.commands?.trySend(Command.Activate)
        Notifications.cancelIncoming(context, callId)
        CallForegroundService.start(context, invites[callId]?.callerName ?: "Call")
    }

    override fun end(callId: String, cause: EndCause) {
        invites.remove(callId)
        Notifications.cancelIncoming(context, callId)
        calls[callId]?.commands?.trySend(Command.End(cause))
    }

    /** Moves the call's audio to [endpoint] (one of `routes.value.available`). */
    fun selectRoute(endpoint: CallEndpointCompat) {
        calls.values.firstOrNull()?.commands?.trySend(Command.Route(endpoint))
    }

    private fun add(callId: String, name: String, address: String, incoming: Boolean) {
        val call = TelecomCall(incoming)
        calls[callId] = call
        val attributes = CallAttributesCompat(
            displayName = name,
            address = Uri.fromParts(SCHEME, address, null),
            direction = if (incoming) CallAttributesCompat.DIRECTION_INCOMING else CallAttributesCompat.DIRECTION_OUTGOING,
            callType = CallAttributesCompat.CALL_TYPE_AUDIO_CALL,
            callCapabilities = 0, // no hold: the SDK has one call on the device at a time
        )
        scope.launch {
            try {
                // Suspends for the call's lifetime; the lambdas are Telecom asking us (a
                // headset button, a car, the system UI).
                callsManager.addCall(
                    attributes,
                    onAnswer = { _ -> SampleApp.of(context).calls.answer(callId) },
                    onDisconnect = { _ ->
                        val coordinator = SampleApp.of(context).calls
                        if (incoming && coordinator.isRinging(callId)) coordinator.decline(callId) else coordinator.hangUp()
                    },
                    onSetActive = {},
                    onSetInactive = {},
                ) { control(callId, call) }
            } catch (e: Exception) {
                // Telecom refused the call (an emergency call is on, say): do not ring silently.
                val coordinator = SampleApp.of(context).calls
                if (incoming) coordinator.decline(callId) else coordinator.hangUp()
            } finally {
                calls.remove(callId, call)
                if (calls.isEmpty()) {
                    _routes.value = Routes()
                    CallForegroundService.stop(context)
                }
            }
        }
    }

    /** Runs inside the call's CallControlScope until it disconnects. */
    private fun CallControlScope.control(callId: String, call: TelecomCall) {
        launch { availableEndpoints.collect { list -> _routes.value = _routes.value.copy(available = list) } }
        launch { currentCallEndpoint.collect { e -> _routes.value = _routes.value.copy(current = e) } }
        // Mute from Telecom (a car's button, the system UI) is the SDK's mute too.
        launch { isMuted.collect { muted -> SampleApp.of(context).calls.setMuted(muted) } }
        launch {
            var answered = !call.incoming
            for (command in call.commands) when (command) {
                // An incoming call answered in our UI is answered to Telecom, not just activated.
                Command.Activate -> if (!answered) {
                    answered = answer(CallAttributesCompat.CALL_TYPE_AUDIO_CALL) is CallControlResult.Success
                } else {
                    setActive()
                }
                is Command.Route -> requestEndpointChange(command.endpoint)
                is Command.End -> {
                    disconnect(DisconnectCause(code(command.cause)))
                    break
                }
            }
        }
    }

    companion object {
        const val SCHEME = "dialtone"
        const val EXTRA_CALL_ID = "dev.dialtone.CALL_ID"

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
