// The foundation scenario from Kotlin, through the real generated bindings and the host
// library on the JVM: two phones register, save profiles, see each other, call, find the
// push in the mock's outbox, hang up; and an unknown clientId is a typed exception.
package dev.dialtone

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.concurrent.CopyOnWriteArrayList

// Debian's JUnit jar is built without its Kotlin extensions, so the reified helper is ours.
inline fun <reified T : Throwable> expectThrows(block: () -> Unit): T {
    try {
        block()
    } catch (e: Throwable) {
        if (e is T) return e
        throw AssertionError("expected ${T::class.simpleName}, got $e", e)
    }
    throw AssertionError("expected ${T::class.simpleName}, nothing was thrown")
}

class FoundationTest {
    private val baseUrl get() = SharedMock.baseUrl

    private fun newClient(): DialtoneClient {
        val dir = SharedMock.dataDir("dialtone-kt")
        return DialtoneClient(BackendConfig.mock(baseUrl, null), dir)
    }

    private fun pushesFor(deviceToken: String): String {
        val req = HttpRequest.newBuilder(URI.create("$baseUrl/mock/pushes?deviceToken=$deviceToken&waitMs=2000")).build()
        return HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString()).body()
    }

    @Test
    fun twoPhonesRegisterSeeEachOtherCallAndHangUp() = runBlocking<Unit> {
        newClient().use { alice ->
            newClient().use { bob ->
                val aliceId = alice.register(PushToken(PushKind.FCM, "kt-alice-fcm"))
                val bobId = bob.register(PushToken(PushKind.FCM, "kt-bob-fcm"))
                assertNotEquals(aliceId, bobId)
                assertEquals(aliceId, alice.register(PushToken(PushKind.FCM, "kt-alice-fcm")))

                alice.saveProfile("Alice", "Kotlin")
                bob.saveProfile("Bob", "Kotlin")
                val seenByAlice = alice.syncPersons()
                val seenByBob = bob.syncPersons()
                assertTrue(seenByAlice.any { it.clientId == bobId && it.firstName == "Bob" && !it.isSelf })
                assertTrue(seenByAlice.any { it.clientId == aliceId && it.isSelf })
                assertTrue(seenByBob.any { it.clientId == aliceId })

                val updates = CopyOnWriteArrayList<List<Person>>()
                val handle = alice.observePersons(object : PersonsListener {
                    override fun onPersonsChanged(persons: List<Person>) { updates.add(persons) }
                })
                val deadline = System.currentTimeMillis() + 3000
                while (updates.isEmpty() && System.currentTimeMillis() < deadline) Thread.sleep(20)
                assertTrue(updates.first().size >= 2, "listener gets the current list first")
                handle.cancel()
                assertTrue(handle.isFinished())

                val call = alice.startCall(bobId).outgoing()!!
                assertTrue(call.participantToken.startsWith("eyJ"))
                assertEquals(bobId, call.calleeClientId)
                val push = pushesFor("kt-bob-fcm")
                assertTrue(push.contains("Alice Kotlin is calling you"), push)
                assertTrue(push.contains("incomingCall?tok=eyJ"), push)

                val busy = expectThrows<DialtoneException.Busy> { runBlocking { bob.startCall(aliceId) } }
                assertTrue(busy.detail.contains("already in a session"))

                alice.endCall()
                bob.endCall()
            }
        }
    }

    @Test
    fun unknownClientIdIsATypedBackendException() = runBlocking<Unit> {
        newClient().use { c ->
            c.register(PushToken(PushKind.FCM, "kt-lonely"))
            val e = expectThrows<DialtoneException.Backend> { runBlocking { c.startCall("no-such-client") } }
            assertEquals(500, e.status.toInt())
            assertTrue(e.detail.contains("no-such-client"))
        }
    }

    @Test
    fun notRegisteredAndInvalidInputAreTyped() = runBlocking<Unit> {
        // The workspace's version, the same the AAR is published under.
        val cargo = java.io.File("Cargo.toml") // the suite runs from the repository root
        val workspace = Regex("(?m)^version = \"([^\"]+)\"").find(cargo.readText())?.groupValues?.get(1)
        assertEquals(workspace, sdkVersion())
        newClient().use { c ->
            expectThrows<DialtoneException.NotRegistered> { runBlocking { c.startCall("x") } }
            expectThrows<DialtoneException.InvalidInput> { runBlocking { c.register(PushToken(PushKind.FCM, " ")) } }
        }
        expectThrows<DialtoneException.InvalidInput> { BackendConfig.mock("not a url", null) }
    }
}
