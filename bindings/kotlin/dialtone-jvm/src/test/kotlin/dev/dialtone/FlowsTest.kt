// The Kotlin layer: Flows that start with the current value and stop the core's listener
// when collection ends, handlePush from a Map<String, String>, and the cancellation rules:
// a cancelled coroutine's hangup still ends the call; a cancelled placeCall cancels it.
package dev.dialtone

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

class FlowsTest {
    private val baseUrl get() = SharedMock.baseUrl

    private fun client() = DialtoneClient(BackendConfig.mock(baseUrl, null), SharedMock.dataDir("dialtone-kt-flow"))

    /** On the extended profile, where giving up a call (cancelCall) frees both parties. */
    private fun extendedClient() =
        DialtoneClient(BackendConfig.mock(SharedMock.extendedUrl, null), SharedMock.dataDir("dialtone-kt-flow"))

    @Test
    fun personsFlowStartsWithTheCurrentListAndFollowsChanges() = runBlocking<Unit> {
        client().use { alice ->
            client().use { bob ->
                alice.register(PushToken(PushKind.FCM, "kt-flow-alice"))
                val bobId = bob.register(PushToken(PushKind.FCM, "kt-flow-bob"))
                alice.saveProfile("Alice", "Flow")
                alice.syncPersons()
                val first = withTimeout(5000) { alice.personsFlow().first() }
                assertTrue(first.any { it.firstName == "Alice" && it.isSelf })
                bob.saveProfile("Bob", "Flow")
                val withBob = withTimeout(5000) { alice.personsFlow().first { list -> list.any { it.clientId == bobId } } }
                assertEquals("Bob", withBob.single { it.clientId == bobId }.firstName)
                assertTrue(withBob.any { it.isSelf && it.firstName == "Alice" })
            }
        }
    }

    @Test
    fun callEventsFlowAndPushFromAMap() = runBlocking<Unit> {
        client().use { alice ->
            client().use { bob ->
                alice.register(PushToken(PushKind.FCM, "kt-flow2-alice"))
                val bobId = bob.register(PushToken(PushKind.FCM, "kt-flow2-bob"))
                assertEquals(
                    PushOutcome.Ignored(IgnoreReason.NOT_A_CALL_PUSH, null),
                    bob.handlePush(mapOf("pinpoint.notification.title" to "Sale \"50%\" off\n")),
                )
                val events = this@runBlocking.async { withTimeout(10000) { alice.callEvents().take(2).toList() } }
                kotlinx.coroutines.delay(100)
                val call = alice.startCall(bobId)
                // The client-wide stream names the call; the call's own starts with its state.
                assertEquals(
                    listOf(CallEvent.StateChanged(call.id(), CallState.Dialing), CallEvent.StateChanged(call.id(), CallState.Ringing)),
                    events.await(),
                )
                assertEquals(CallState.Ringing, withTimeout(5000) { call.states().first() })
                alice.endCall()
                assertEquals(CallState.Ended(CallEndReason.CANCELLED), call.state())
            }
        }
    }

    /** Places a call, retrying while the backend still holds the last one (up to 5 s). */
    private suspend fun placeWhenFree(c: DialtoneClient, callee: String): Call {
        val deadline = System.currentTimeMillis() + 5000
        while (true) {
            try {
                return c.startCall(callee)
            } catch (e: DialtoneException.Busy) {
                if (System.currentTimeMillis() > deadline) throw e
                kotlinx.coroutines.delay(50)
            }
        }
    }

    @Test
    fun aCancelledCoroutinesHangupStillEndsTheCall() = runBlocking<Unit> {
        extendedClient().use { alice ->
            extendedClient().use { bob ->
                alice.register(PushToken(PushKind.FCM, "kt-cancel-alice"))
                val bobId = bob.register(PushToken(PushKind.FCM, "kt-cancel-bob"))
                val call = alice.startCall(bobId)
                // A screen's scope starts the hangup and is cancelled at once.
                val screen = CoroutineScope(Dispatchers.Default)
                screen.launch(start = CoroutineStart.UNDISPATCHED) { call.hangup() }
                screen.cancel()
                assertEquals(
                    CallState.Ended(CallEndReason.CANCELLED),
                    withTimeout(5000) { call.states().first { it is CallState.Ended } },
                )
                // The backend let the call go (without the hangup it would hold both rows until
                // the 45 s ring timeout): Alice can place another within moments.
                placeWhenFree(alice, bobId).hangup()
            }
        }
    }

    @Test
    fun aCancelledStartCallCancelsTheCall() = runBlocking<Unit> {
        extendedClient().use { alice ->
            extendedClient().use { bob ->
                alice.register(PushToken(PushKind.FCM, "kt-cancel2-alice"))
                val bobId = bob.register(PushToken(PushKind.FCM, "kt-cancel2-bob"))
                // The coroutine is cancelled once the call exists (it is in the table, being
                // placed); on a loaded machine that is often in the instant after the core
                // placed it, before the coroutine took the result (the case the signal inside
                // placeCall exists for). Placing may also win outright: then the coroutine
                // was not cancelled, it holds the call, and the attempt is repeated.
                var cancelledWhilePlacing = false
                for (attempt in 1..5) {
                    val placing = async(Dispatchers.Default) { alice.placeCall(bobId) }
                    val seen = System.currentTimeMillis() + 5000
                    while (alice.activeCall() == null && !placing.isCompleted && System.currentTimeMillis() < seen) {
                        kotlinx.coroutines.delay(1)
                    }
                    placing.cancel()
                    placing.join()
                    if (!placing.isCancelled) {
                        placing.await().hangup()
                        continue
                    }
                    cancelledWhilePlacing = true
                    val deadline = System.currentTimeMillis() + 5000
                    while (alice.activeCall() != null && System.currentTimeMillis() < deadline) kotlinx.coroutines.delay(20)
                    assertEquals(null, alice.activeCall()?.state())
                    break
                }
                assertTrue(cancelledWhilePlacing, "placing won the race five times")
                // Nothing was left behind at the backend: the next call goes through.
                placeWhenFree(alice, bobId).hangup()
            }
        }
    }
}
