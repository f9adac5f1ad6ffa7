// The Kotlin layer: Flows that start with the current value and stop the core's listener
// when collection ends, and handlePush from a Map<String, String>.
package dev.dialtone

import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.nio.file.Files

class FlowsTest {
    private val baseUrl get() = SharedMock.baseUrl

    private fun client() = DialtoneClient(BackendConfig.mock(baseUrl, null), Files.createTempDirectory("dialtone-kt-flow").toString())

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
                alice.startCall(bobId)
                assertEquals(listOf(CallEvent.Connecting), events.await().take(1))
                alice.endCall()
            }
        }
    }
}
