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

    /** Audio through the real-time edge (direct buffers, no allocation in the core): Bob
     * plays what arrives by pulling, Alice's microphone is what she pushes, and a closed
     * client's edge is silence. */
    @Test
    fun theAudioEdgeCarriesPcmBothWays() = runBlocking<Unit> {
        val aliceClient = client()
        val aliceEdge = aliceClient.audioEdge()
        aliceClient.use { alice ->
            client().use { bob ->
                alice.register(PushToken(PushKind.FCM, "kt-edge-alice"))
                val bobId = bob.register(PushToken(PushKind.FCM, "kt-edge-bob"))
                alice.setAudioSource(AudioSource.Microphone)
                bob.setAudioSource(AudioSource.Tone(880.0f))
                alice.startCall(bobId)
                bob.joinCall(tokenFromPush("kt-edge-bob"))
                assertEquals(aliceEdge.handle, alice.audioEdge().handle, "one handle per client")

                // Alice's "microphone": a 660 Hz sine, 20 ms at a time, from one direct buffer.
                val frames = 960
                val mic = java.nio.ByteBuffer.allocateDirect(frames * 2)
                    .order(java.nio.ByteOrder.nativeOrder()).asShortBuffer()
                var phase = 0.0
                val pusher = Thread {
                    while (!Thread.currentThread().isInterrupted) {
                        for (i in 0 until frames) {
                            mic.put(i, (8000 * Math.sin(phase)).toInt().toShort())
                            phase += 2 * Math.PI * 660.0 / 48_000
                        }
                        aliceEdge.push(mic)
                        try { Thread.sleep(20) } catch (e: InterruptedException) { break }
                    }
                }
                pusher.start()
                try {
                    eventually("Bob to hear what Alice pushed") { bob.detectedRemoteTone(listOf(660.0f, 880.0f)) == 660.0f }
                } finally {
                    pusher.interrupt()
                    pusher.join()
                }
                // Bob's speaker: what arrived from Alice, pulled through his edge.
                val bobEdge = bob.audioEdge()
                val speaker = java.nio.ByteBuffer.allocateDirect(frames * 2)
                    .order(java.nio.ByteOrder.nativeOrder()).asShortBuffer()
                eventually("Bob's edge to play audio", 5) {
                    assertEquals(frames, bobEdge.pull(speaker))
                    (0 until frames).any { speaker.get(it).toInt() != 0 }
                }
                alice.endCall()
                bob.endCall()
            }
        }
        // Alice's client is closed: her handle is silence now, never a dangling pointer.
        val after = java.nio.ByteBuffer.allocateDirect(960 * 2).order(java.nio.ByteOrder.nativeOrder()).asShortBuffer()
        for (i in 0 until 960) after.put(i, 5)
        assertEquals(960, aliceEdge.pull(after))
        assertTrue((0 until 960).all { after.get(it).toInt() == 0 })
        assertEquals(0, aliceEdge.push(after))
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
