// A real call from Kotlin: Alice's core sends 440 Hz, Bob's 880 Hz, each detects the
// other's tone through the mock's gateway and SFU; mute silences; hangup ends cleanly.
package dev.dialtone

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.concurrent.CopyOnWriteArrayList

class MediaTest {
    private val baseUrl get() = SharedMock.baseUrl
    private val tones = listOf(440.0f, 880.0f)

    private fun client() = DialtoneClient(BackendConfig.mock(baseUrl, null), SharedMock.dataDir("dialtone-kt-media"))

    private fun tokenFromPush(deviceToken: String): String {
        val req = HttpRequest.newBuilder(URI.create("$baseUrl/mock/pushes?deviceToken=$deviceToken&waitMs=3000")).build()
        val body = HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString()).body()
        return Regex("tok=([A-Za-z0-9_.-]+)").find(body)?.groupValues?.get(1) ?: error("no token in push: $body")
    }

    private fun eventually(what: String, seconds: Int = 15, check: () -> Boolean) {
        val deadline = System.currentTimeMillis() + seconds * 1000L
        while (System.currentTimeMillis() < deadline) {
            if (check()) return
            Thread.sleep(20)
        }
        throw AssertionError("timed out waiting for $what")
    }

    @Test
    fun tonesCrossTheCallBothWaysAndMuteSilences() = runBlocking<Unit> {
        client().use { alice ->
            client().use { bob ->
                alice.register(PushToken(PushKind.FCM, "kt-media-alice"))
                val bobId = bob.register(PushToken(PushKind.FCM, "kt-media-bob"))
                alice.setAudioSource(AudioSource.Tone(440.0f))
                bob.setAudioSource(AudioSource.Tone(880.0f))
                val events = CopyOnWriteArrayList<CallEvent>()
                val handle = alice.observeCall(object : CallListener {
                    override fun onCallEvent(event: CallEvent) { events.add(event) }
                })

                alice.startCall(bobId)
                bob.joinCall(tokenFromPush("kt-media-bob"))
                eventually("Bob to hear 440 Hz") { bob.detectedRemoteTone(tones) == 440.0f }
                eventually("Alice to hear 880 Hz") { alice.detectedRemoteTone(tones) == 880.0f }
                // Events reach the listener on their own thread: under load the tone can be
                // detected before Connected is delivered (CI saw it once), so wait for it too.
                eventually("Alice's Connected event", 5) {
                    events.any { it is CallEvent.StateChanged && it.state == CallState.Connected }
                }

                alice.setMuted(true)
                eventually("Bob to stop hearing Alice", 5) { bob.detectedRemoteTone(tones) == null }
                alice.setMuted(false)

                alice.endCall()
                bob.endCall()
                val end = { e: CallEvent -> e is CallEvent.StateChanged && e.state is CallState.Ended }
                eventually("Alice's call to end", 5) { events.any(end) }
                assertEquals(
                    CallState.Ended(CallEndReason.LOCAL_HANGUP),
                    (events.last(end) as CallEvent.StateChanged).state,
                )
                handle.cancel()
            }
        }
    }

    /** The data map exactly as FirebaseMessagingService.onMessageReceived hands it over. */
    private fun fcmDataMap(deviceToken: String): Map<String, String> {
        val req = HttpRequest.newBuilder(URI.create("$baseUrl/mock/pushes?deviceToken=$deviceToken&waitMs=3000")).build()
        val body = HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString()).body()
        fun field(key: String) = Regex("\"${Regex.escape(key)}\":\"([^\"]*)\"").find(body)?.groupValues?.get(1)
            ?: error("no $key in push: $body")
        return mapOf(
            "pinpoint.notification.title" to field("pinpoint.notification.title"),
            "pinpoint.notification.body" to field("pinpoint.notification.body"),
            "pinpoint.deeplink" to field("pinpoint.deeplink"),
        )
    }

    private fun Map<String, String>.toJson(): String =
        entries.joinToString(",", "{", "}") { (k, v) -> "\"$k\":\"${v.replace("\\", "\\\\").replace("\"", "\\\"")}\"" }

    @Test
    fun anIncomingPushRingsOnceAndAnswerJoinsTheCall() = runBlocking<Unit> {
        client().use { alice ->
            client().use { bob ->
                alice.register(PushToken(PushKind.FCM, "kt-in-alice"))
                alice.saveProfile("Alice", "Kotlin")
                val bobId = bob.register(PushToken(PushKind.FCM, "kt-in-bob"))
                alice.setAudioSource(AudioSource.Tone(440.0f))
                bob.setAudioSource(AudioSource.Tone(880.0f))
                alice.startCall(bobId)

                val data = fcmDataMap("kt-in-bob").toJson()
                val invite = (bob.handlePush(data) as PushOutcome.Invite).invite
                assertEquals("Alice Kotlin", invite.callerName)
                assertEquals(PushOutcome.Ignored(IgnoreReason.DUPLICATE, invite.callId), bob.handlePush(data))

                val incoming = bob.call(invite.callId)!!
                assertEquals(CallState.Ringing, incoming.state())
                incoming.answer()
                eventually("Bob to hear Alice") { bob.detectedRemoteTone(tones) == 440.0f }
                eventually("Alice to hear Bob") { alice.detectedRemoteTone(tones) == 880.0f }
                incoming.hangup()
                alice.endCall()
            }
        }
    }

    @Test
    fun declineAndMalformedPushes() = runBlocking<Unit> {
        client().use { alice ->
            client().use { bob ->
                alice.register(PushToken(PushKind.FCM, "kt-dec-alice"))
                val bobId = bob.register(PushToken(PushKind.FCM, "kt-dec-bob"))
                val events = CopyOnWriteArrayList<CallEvent>()
                val handle = alice.observeCall(object : CallListener {
                    override fun onCallEvent(event: CallEvent) { events.add(event) }
                })
                alice.startCall(bobId)
                val invite = (bob.handlePush(fcmDataMap("kt-dec-bob").toJson()) as PushOutcome.Invite).invite
                bob.decline(invite.callId)
                eventually("Alice to hear the call end", 5) {
                    events.any { it is CallEvent.StateChanged && it.state == CallState.Ended(CallEndReason.REMOTE_ENDED) }
                }
                expectThrows<DialtoneException.InvalidInput> { bob.handlePush("{not json") }
                assertEquals(PushOutcome.Ignored(IgnoreReason.NOT_A_CALL_PUSH, null), bob.handlePush("{\"pinpoint.notification.title\":\"Sale\"}"))
                alice.endCall()
                handle.cancel()
            }
        }
    }

    @Test
    fun aForgedTokenIsRefusedWithATypedException() = runBlocking<Unit> {
        client().use { c ->
            val e = expectThrows<DialtoneException.TokenRefused> { runBlocking { c.joinCall("not-a-jwt") } }
            assertTrue(e.detail.contains("well-formed"), e.detail)
        }
    }
}
