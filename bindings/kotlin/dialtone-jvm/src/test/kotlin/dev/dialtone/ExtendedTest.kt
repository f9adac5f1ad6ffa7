// The incoming path from Kotlin against the mock's extended profile: the FCM data map as
// FirebaseMessagingService hands it over (call id, caller, sentAt, and no token), the same
// call announced on the event channel and collected from the incomingCalls() Flow as a Call,
// answer with audio both ways and each call's states as a Flow, the caller told the callee
// declined, busy, and spoofing refused.
package dev.dialtone

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.onEach
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse

class ExtendedTest {
    private val baseUrl get() = SharedMock.extendedUrl
    private val tones = listOf(440.0f, 880.0f)

    private fun client() = DialtoneClient(BackendConfig.mock(baseUrl, null), SharedMock.dataDir("dialtone-kt-ext"))

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

                val announced = async { withTimeout(5_000) { bob.incomingCalls().first() } }
                kotlinx.coroutines.delay(100) // let the collector subscribe
                val call = alice.startCall(bobId)
                assertEquals(CallDirection.OUTGOING, call.direction())
                assertEquals(bobId, call.remoteClientId())
                // The call's own stream starts with its current state and ends with its end.
                // Collected on another thread; the test goes on once the stream holds its first
                // state (the call's state at subscription), so none of what follows is missed.
                val subscribed = CompletableDeferred<Unit>()
                val aliceStates = async(Dispatchers.Default) {
                    withTimeout(30_000) { call.states().onEach { subscribed.complete(Unit) }.toList() }
                }
                subscribed.await()
                val callId = call.outgoing()?.callId ?: error("the extended backend names the call")

                val data = fcmData("kt-ext-bob")
                assertEquals(callId, data["callId"])
                assertEquals(aliceId, data["callerId"])
                assertTrue(data.keys.none { it.contains("tok") } && !data.getValue("pinpoint.deeplink").contains("tok="), "no token in the push")
                val incoming = announced.await()
                assertEquals(callId, incoming.id())
                assertEquals(CallDirection.INCOMING, incoming.direction())
                assertEquals("Alice Kotlin", incoming.remoteName())
                assertEquals(CallState.Ringing, incoming.state())
                // The push for the same call: one ring, not two.
                assertEquals(PushOutcome.Ignored(IgnoreReason.DUPLICATE, callId), bob.handlePush(data))

                incoming.answer()
                eventually("Bob to hear Alice") { bob.detectedRemoteTone(tones) == 440.0f }
                eventually("Alice to hear Bob") { alice.detectedRemoteTone(tones) == 880.0f }
                incoming.hangup()
                assertEquals(CallState.Ended(CallEndReason.LOCAL_HANGUP), incoming.state())
                assertEquals(
                    listOf(CallState.Ringing, CallState.Connecting, CallState.Connected, CallState.Ended(CallEndReason.REMOTE_ENDED)),
                    aliceStates.await(),
                )
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
                    val bobRings = async { withTimeout(5_000) { bob.incomingCalls().first() } }
                    kotlinx.coroutines.delay(100)
                    val call = alice.startCall(bobId)
                    val aliceEnded = async { withTimeout(10_000) { call.states().first { it is CallState.Ended } } }
                    val incoming = bobRings.await()
                    // Busy: Bob's row is in Alice's session.
                    expectThrows<DialtoneException.Busy> { runBlocking { carol.startCall(bobId) } }
                    val callId = alice.activeCall()!!.outgoing()!!.callId!!
                    assertEquals(callId, incoming.id())
                    incoming.decline()
                    assertEquals(CallState.Ended(CallEndReason.DECLINED), aliceEnded.await())
                    // Too late to answer a declined call: the call is unavailable, and says so.
                    expectThrows<DialtoneException.CallUnavailable> { runBlocking { incoming.answer() } }
                    expectThrows<DialtoneException.CallUnavailable> { runBlocking { bob.answer(callId) } }
                    // Deleting another installation's clientId is refused on this backend.
                    expectThrows<DialtoneException.Unauthorized> { runBlocking { carol.deleteClientIds(listOf(bobId)) } }
                }
            }
        }
    }
}
