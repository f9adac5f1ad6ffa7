// Kotlin idioms over the generated bindings: Flows of the Person list, of each call's events
// (starting with its current state, completing after it ends) and of incoming calls; the
// core's listener is cancelled together with the collector. handlePush takes the FCM data
// map exactly as FirebaseMessagingService.onMessageReceived gives it.
//
// Cancellation (docs/adr/0001): `Call.answer()`, `decline()` and `hangup()` complete in the
// SDK even if the coroutine awaiting them is cancelled (a Compose screen left); a cancelled
// `placeCall` cancels the call it was placing, whenever the cancellation lands.
package dev.dialtone

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.map

/**
 * Places a call and returns it once it rings at the callee. Cancelling the coroutine cancels
 * the call, also when the cancellation lands in the instant after the call was placed (the
 * generated `startCall` alone would then drop the result and leave the call ringing): the
 * signal hangs that call up. Prefer it to `startCall`.
 */
suspend fun DialtoneClient.placeCall(calleeClientId: String): Call {
    val signal = CancelSignal()
    try {
        return startCall(calleeClientId, signal)
    } catch (e: CancellationException) {
        signal.cancel()
        throw e
    } finally {
        signal.close()
    }
}

/** The Person list: the current one first, then every change. Only the latest matters. */
fun DialtoneClient.personsFlow(): Flow<List<Person>> = callbackFlow {
    val handle = observePersons(object : PersonsListener {
        override fun onPersonsChanged(persons: List<Person>) {
            trySend(persons)
        }
    })
    awaitClose {
        handle.cancel()
        handle.close()
    }
}.buffer(1, BufferOverflow.DROP_OLDEST)

/**
 * This call's events: its current state first, then every change, levels and stats; the
 * Flow completes after the `Ended` state. State events are never dropped (the buffer is
 * unbounded; the SDK coalesces levels and stats).
 */
fun Call.events(): Flow<CallEvent> = callbackFlow {
    val handle = observe(object : CallListener {
        override fun onCallEvent(event: CallEvent) {
            trySend(event)
            if (event is CallEvent.StateChanged && event.state is CallState.Ended) channel.close()
        }
    })
    awaitClose {
        handle.cancel()
        handle.close()
    }
}.buffer(Channel.UNLIMITED)

/** This call's states: the current one first; completes after `Ended`. */
fun Call.states(): Flow<CallState> =
    events().filterIsInstance<CallEvent.StateChanged>().map { it.state }

/**
 * Every event of every call from the moment collection starts (each names its call). Like any
 * cold Flow it subscribes only when collected; for one call from its start, use `Call.events()`,
 * which begins with the call's current state.
 */
fun DialtoneClient.callEvents(): Flow<CallEvent> = callbackFlow {
    val handle = observeCall(object : CallListener {
        override fun onCallEvent(event: CallEvent) {
            trySend(event)
        }
    })
    awaitClose {
        handle.cancel()
        handle.close()
    }
}.buffer(Channel.UNLIMITED)

/** Each new incoming call (push or event channel), once, from the moment collection starts. */
fun DialtoneClient.incomingCalls(): Flow<Call> = callbackFlow {
    val handle = observeIncomingCalls(object : IncomingCallListener {
        override fun onIncomingCall(call: Call) {
            trySend(call)
        }
    })
    awaitClose {
        handle.cancel()
        handle.close()
    }
}.buffer(Channel.UNLIMITED)

/** `RemoteMessage.data`, as is (the core turns the map into its JSON form). */
fun DialtoneClient.handlePush(data: Map<String, String>): PushOutcome = handleFcmPush(data)

/**
 * This room's events: a `Snapshot` first, then every change, speakers, levels and stats; the
 * Flow completes after the room is `Left`. Membership events are never dropped (the buffer is
 * unbounded; the SDK coalesces levels and stats).
 */
fun Room.events(): Flow<RoomEvent> = callbackFlow {
    val handle = observe(object : RoomListener {
        override fun onRoomEvent(event: RoomEvent) {
            trySend(event)
            if (event is RoomEvent.StateChanged && event.state is RoomState.Left) channel.close()
        }
    })
    awaitClose {
        handle.cancel()
        handle.close()
    }
}.buffer(Channel.UNLIMITED)

/**
 * The member list: the current one first (this device first, then by entry), then the list
 * after every join, leave or change. Only the latest matters.
 */
fun Room.membersFlow(): Flow<List<RoomMember>> =
    events().filter {
        it is RoomEvent.Snapshot || it is RoomEvent.MemberJoined ||
            it is RoomEvent.MemberLeft || it is RoomEvent.MemberChanged
    }.map { members() }.buffer(1, BufferOverflow.DROP_OLDEST)
