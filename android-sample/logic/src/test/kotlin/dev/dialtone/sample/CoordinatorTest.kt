// The sample's call logic on the JVM against the mock's extended profile: a push as
// FirebaseMessagingService hands it over rings through the call system once, answer starts
// the audio pump, each side's speaker plays the other's tone (generated and recorded in
// Kotlin, crossing the SDK's PCM interface), and hangup ends the call on both call systems.
package dev.dialtone.sample

import dev.dialtone.BackendConfig
import dev.dialtone.DialtoneClient
import dev.dialtone.IgnoreReason
import dev.dialtone.PushKind
import dev.dialtone.PushOutcome
import dev.dialtone.PushToken
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files

class CoordinatorTest {
    private val baseUrl get() = SampleMock.baseUrl

    private fun client() = DialtoneClient(BackendConfig.mock(baseUrl, null), Files.createTempDirectory("dialtone-sample").toString())

    /** Waits for [check]; on a timeout the message carries [detail]'s account of the moment. */
    private fun eventually(what: String, seconds: Int = 15, detail: () -> String = { "" }, check: () -> Boolean) {
        val deadline = System.currentTimeMillis() + seconds * 1000L
        while (System.currentTimeMillis() < deadline) {
            if (check()) return
            Thread.sleep(20)
        }
        val more = detail()
        throw AssertionError("timed out waiting for $what" + if (more.isEmpty()) "" else " ($more)")
    }

    private fun fcmData(deviceToken: String): Map<String, String> {
        val req = HttpRequest.newBuilder(URI.create("$baseUrl/mock/pushes?deviceToken=$deviceToken&waitMs=3000")).build()
        val body = HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString()).body()
        val data = Regex("\"data\":\\{([^}]*)\\}").find(body)?.groupValues?.get(1) ?: error("no data map: $body")
        return Regex("\"([^\"]+)\":\"([^\"]*)\"").findAll(data).associate { it.groupValues[1] to it.groupValues[2] }
    }

    @Test
    fun aPushRingsAnswerPlaysAudioBothWaysAndHangupEndsBothSides() = runBlocking<Unit> {
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        client().use { aliceClient ->
            client().use { bobClient ->
                val aliceModel = AppModel(aliceClient, scope)
                val bobModel = AppModel(bobClient, scope)
                assertTrue(aliceModel.signIn("Alice", "Sample", "sample-alice"))
                assertTrue(bobModel.signIn("Bob", "Sample", "sample-bob"))
                val bobId = bobClient.clientId()
                eventually("Alice's list to show Bob") {
                    (aliceModel.screen.value as? Screen.People)?.others?.any { it.clientId == bobId } == true
                }
                val bob = (aliceModel.screen.value as Screen.People).others.first { it.clientId == bobId }
                eventually("event channels", 5) { aliceClient.isEventChannelConnected() && bobClient.isEventChannelConnected() }

                val aliceSystem = RecordingCallSystem()
                val bobSystem = RecordingCallSystem()
                val aliceMic = ToneDevice(440.0)
                val bobMic = ToneDevice(880.0)
                val alice = CallCoordinator(aliceClient, aliceSystem, { aliceMic }, scope)
                val bobSide = CallCoordinator(bobClient, bobSystem, { bobMic }, scope)

                alice.call(bob)
                eventually("Alice to see Bob's phone ring", 5) { (alice.state.value as? CallUi.Dialing)?.calleeRinging == true }
                eventually("Bob's phone to ring", 5) { bobSide.state.value is CallUi.Ringing }
                // The push arrives too: it is the same call, reported once.
                bobSide.onPush(fcmData("sample-bob"))
                assertEquals(1, bobSystem.calls.count { it.startsWith("incoming") }, bobSystem.calls.toString())
                val invite = (bobSide.state.value as CallUi.Ringing).invite
                assertEquals("Alice Sample", invite.callerName)

                bobSide.answer(invite.callId)
                // On a timeout: both calls' states and what each device moved and heard.
                val media = {
                    "Alice ${alice.state.value}: ${aliceMic.describe()}; Bob ${bobSide.state.value}: ${bobMic.describe()}"
                }
                eventually("both calls active", detail = media) { alice.state.value is CallUi.Active && bobSide.state.value is CallUi.Active }
                eventually("Alice's speaker to play Bob's 880 Hz", detail = media) { aliceMic.playedShare(880.0) > 0.5 }
                eventually("Bob's speaker to play Alice's 440 Hz", detail = media) { bobMic.playedShare(440.0) > 0.5 }
                assertTrue(aliceMic.playedShare(440.0) < 0.2, "no echo of our own tone")

                bobSide.setMuted(true)
                eventually("Alice's speaker to go quiet", 5) { aliceMic.playedShare(880.0) < 0.2 }

                bobSide.hangUp()
                eventually("Alice's call to end as remote", 5) { alice.state.value == CallUi.Ended(EndCause.REMOTE) }
                assertEquals(CallUi.Ended(EndCause.LOCAL), bobSide.state.value)
                assertEquals(listOf("outgoing Bob", "active", "end REMOTE"), aliceSystem.calls.toList())
                assertEquals("end LOCAL", bobSystem.calls.last())
                alice.close()
                bobSide.close()
                aliceModel.close()
                bobModel.close()
            }
        }
        scope.cancel()
    }

    @Test
    fun declineBusyAndBadPushesReachTheCallSystemClearly() = runBlocking<Unit> {
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        client().use { aliceClient ->
            client().use { bobClient ->
                client().use { carolClient ->
                    aliceClient.register(PushToken(PushKind.FCM, "sample2-alice"))
                    val bobId = bobClient.register(PushToken(PushKind.FCM, "sample2-bob"))
                    bobClient.saveProfile("Bob", "Sample")
                    carolClient.register(PushToken(PushKind.FCM, "sample2-carol"))
                    eventually("event channels", 5) { aliceClient.isEventChannelConnected() && bobClient.isEventChannelConnected() }
                    val bob = bobClient.persons().first { it.isSelf }
                    val aliceSystem = RecordingCallSystem()
                    val bobSystem = RecordingCallSystem()
                    val carolSystem = RecordingCallSystem()
                    val alice = CallCoordinator(aliceClient, aliceSystem, { ToneDevice(440.0) }, scope)
                    val bobSide = CallCoordinator(bobClient, bobSystem, { ToneDevice(880.0) }, scope)
                    val carol = CallCoordinator(carolClient, carolSystem, { ToneDevice(660.0) }, scope)

                    alice.call(bob)
                    eventually("Bob's phone to ring", 5) { bobSide.state.value is CallUi.Ringing }
                    // Carol calls Bob meanwhile: busy, shown as such.
                    carol.call(bob)
                    assertEquals(EndCause.BUSY, (carol.state.value as CallUi.Ended).cause)
                    assertEquals("end BUSY", carolSystem.calls.last())

                    val invite = (bobSide.state.value as CallUi.Ringing).invite
                    bobSide.decline(invite.callId)
                    eventually("Alice to hear the decline", 5) { alice.state.value == CallUi.Ended(EndCause.REJECTED) }
                    assertEquals("end REJECTED", bobSystem.calls.last())

                    // An oversized push, a link without a token, a promotion: nothing rings.
                    assertEquals(null, bobSide.onPush(mapOf("pinpoint.notification.body" to "x".repeat(6000))))
                    assertEquals(
                        PushOutcome.Ignored(IgnoreReason.NOT_A_CALL_PUSH, null),
                        bobSide.onPush(mapOf("pinpoint.deeplink" to "https://my.app.com/incomingCall?tok=")),
                    )
                    bobSide.onPush(mapOf("pinpoint.notification.title" to "50% off"))
                    assertEquals(1, bobSystem.calls.count { it.startsWith("incoming") })
                    assertEquals(CallUi.Ended(EndCause.REJECTED), bobSide.state.value)
                    alice.close()
                    bobSide.close()
                    carol.close()
                }
            }
        }
        scope.cancel()
    }
}
