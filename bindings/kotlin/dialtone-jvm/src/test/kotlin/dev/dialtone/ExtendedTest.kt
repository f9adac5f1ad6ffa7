// The incoming path from Kotlin against the mock's extended profile: the FCM data map as
// FirebaseMessagingService hands it over (call id, caller, sentAt, and no token), the same
// call announced on the event channel and collected from the callEvents() Flow, answer with
// audio both ways, the caller told the callee declined, busy, and spoofing refused.
package dev.dialtone

import kotlinx.coroutines.async
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files

class ExtendedTest {
    private val baseUrl get() = SharedMock.extendedUrl
    private val tones = listOf(440.0f, 880.0f)

    private fun client() = DialtoneClient(BackendConfig.mock(baseUrl, null), Files.createTempDirectory("dialtone-kt-ext").toString())

    private fun eventually(what: String, seconds: Int = 15, check: () -> Boolean) {
        val deadline = System.currentTimeMillis() + seconds * 1000L
        while (System.currentTimeMillis() < deadline) {
            if (check()) return
            Thread.sleep(20)
        }
        throw AssertionError("timed out waiting for $what")
    }

    /** The FCM data map of the device's next push, every key as FCM delivers it. */
    private fun fcmData(deviceToken: String): Map<String, String> {
        val req = HttpRequest.newBuilder(URI.create("$baseUrl/mock/pushes?deviceToken=$deviceToken&waitMs=3000")).build()
        val body = HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString()).body()
        val data = Regex("\"data\":\\{([^}]*)\\}").find(body)?.groupValues?.get(1) ?: error("no data map: $body")
        return Regex("\"([^\"]+)\":\"([^\"]*)\"").findAll(data).associate { it.groupValues[1] to it.groupValues[2] }
    }

    @Test
    fun aTokenFreePushAndTheEventChannelRingOnceAndAnswerJoins() = runBlocking<Unit> {
        client().use { alice ->
            client().use { bob ->
                val aliceId = alice.register(PushToken(PushKind.FCM, "kt-ext-alice"))
                alice.saveProfile("Alice", "Kotlin")
                val bobId = bob.register(PushToken(PushKind.FCM, "kt-ext-bob"))
                eventually("both event channels", 5) { alice.isEventChannelConnected() && bob.isEventChannelConnected() }
                alice.setAudioSource(AudioSource.Tone(440.0f))
                bob.setAudioSource(AudioSource.Tone(880.0f))

                val announced = async { withTimeout(5_000) { bob.callEvents().filterIsInstance<CallEvent.Incoming>().first() } }
                val aliceEnded = async { withTimeout(30_000) { alice.callEvents().filterIsInstance<CallEvent.Ended>().first() } }
                kotlinx.coroutines.delay(100) // let the collectors subscribe
                val call = alice.startCall(bobId)
                assertNotNull(call.callId)

                val data = fcmData("kt-ext-bob")
                assertEquals(call.callId, data["callId"])
                assertEquals(aliceId, data["callerId"])
                assertTrue(data.keys.none { it.contains("tok") } && !data.getValue("pinpoint.deeplink").contains("tok="), "no token in the push")
                val invite = announced.await().invite
                assertEquals(call.callId, invite.callId)
                assertEquals("Alice Kotlin", invite.callerName)
                // The push for the same call: one ring, not two.
                assertEquals(PushOutcome.Ignored(IgnoreReason.DUPLICATE, invite.callId), bob.handlePush(data))

                bob.answer(invite.callId)
                eventually("Bob to hear Alice") { bob.detectedRemoteTone(tones) == 440.0f }
                eventually("Alice to hear Bob") { alice.detectedRemoteTone(tones) == 880.0f }
                bob.endCall()
                assertEquals(CallEndReason.REMOTE_ENDED, aliceEnded.await().reason)
                alice.endCall()
            }
        }
    }

    @Test
    fun declineReachesTheCallerAndBusyAndSpoofingAreTyped() = runBlocking<Unit> {
        client().use { alice ->
            client().use { bob ->
                client().use { carol ->
                    alice.register(PushToken(PushKind.FCM, "kt-ext2-alice"))
                    val bobId = bob.register(PushToken(PushKind.FCM, "kt-ext2-bob"))
                    carol.register(PushToken(PushKind.FCM, "kt-ext2-carol"))
                    eventually("event channels", 5) { alice.isEventChannelConnected() && bob.isEventChannelConnected() }
                    val aliceEnded = async { withTimeout(10_000) { alice.callEvents().filterIsInstance<CallEvent.Ended>().first() } }
                    val bobRings = async { withTimeout(5_000) { bob.callEvents().filterIsInstance<CallEvent.Incoming>().first() } }
                    kotlinx.coroutines.delay(100)
                    alice.startCall(bobId)
                    bobRings.await()
                    // Busy: Bob's row is in Alice's session.
                    expectThrows<DialtoneException.Busy> { runBlocking { carol.startCall(bobId) } }
                    val callId = alice.activeCall()!!.callId!!
                    bob.decline(callId)
                    assertEquals(CallEndReason.DECLINED, aliceEnded.await().reason)
                    // Too late to answer a declined call.
                    expectThrows<DialtoneException.InvalidInput> { runBlocking { bob.answer(callId) } }
                    // Deleting another installation's clientId is refused on this backend.
                    expectThrows<DialtoneException.Unauthorized> { runBlocking { carol.deleteClientIds(listOf(bobId)) } }
                }
            }
        }
    }
}
