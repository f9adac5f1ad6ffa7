// Kotlin idioms over the generated bindings: Flows of the Person list and of call events
// (the core's listener is cancelled together with the collector), and handlePush taking
// the FCM data map exactly as FirebaseMessagingService.onMessageReceived gives it.
package dev.dialtone

import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.channels.BufferOverflow

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
 * Every call event from the moment collection starts. Like any cold Flow it subscribes only
 * when collected: start collecting before placing or answering a call (or, where every
 * event matters from construction on, register `observeCall` directly, as the sample's
 * CallCoordinator does), or the first events of that call may be missed.
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
}.buffer(256)

/** `RemoteMessage.data`, as is. */
fun DialtoneClient.handlePush(data: Map<String, String>): PushOutcome = handlePush(data.toJsonObject())

internal fun Map<String, String>.toJsonObject(): String =
    entries.joinToString(",", "{", "}") { (k, v) -> "${k.jsonString()}:${v.jsonString()}" }

private fun String.jsonString(): String {
    val out = StringBuilder(length + 2).append('"')
    for (c in this) {
        when {
            c == '"' -> out.append("\\\"")
            c == '\\' -> out.append("\\\\")
            c < ' ' -> out.append("\\u%04x".format(c.code))
            else -> out.append(c)
        }
    }
    return out.append('"').toString()
}
