// Phones for an app's tests: a registered client of the mock, a room of them each sending a
// tone (`mock.room(ada, bob, cy)`), and a real call between two of
// them whose sides send tones and hear each other (Opus, the mock's v3 gateway and SFU, the
// core's tone detector), placed the way a phone does it: startCall on one side, the push
// handed to handlePush on the other, then answer.
package dev.dialtone.testing

import dev.dialtone.AudioSource
import dev.dialtone.Call
import dev.dialtone.DialtoneClient
import dev.dialtone.PushKind
import dev.dialtone.PushOutcome
import dev.dialtone.PushToken
import dev.dialtone.Room
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import java.util.UUID
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/** A registered client of the mock; [pushToken] is the FCM token it registered with. */
class TestPhone internal constructor(
    val client: DialtoneClient,
    val clientId: String,
    val pushToken: String,
) : AutoCloseable {
    /** Hangs up whatever this phone has and closes its client. */
    override fun close() = client.close()
}

/** A new client of this mock, registered with an FCM token of its own and [firstName] as its Person name. */
suspend fun DialtoneMock.phone(firstName: String = "Test", lastName: String = "Phone"): TestPhone {
    val client = newClient()
    try {
        val token = "test-${UUID.randomUUID()}"
        val id = client.register(PushToken(PushKind.FCM, token))
        client.saveProfile(firstName, lastName)
        return TestPhone(client, id, token)
    } catch (e: Throwable) {
        client.close()
        throw e
    }
}

/** An established call between two test phones, each sending its tone. */
class ToneCall internal constructor(
    val caller: Call,
    val callee: Call,
    val callerHz: Float,
    val calleeHz: Float,
) {
    /** Hangs both sides up (each returns once its release is done). */
    suspend fun hangup() {
        caller.hangup()
        callee.hangup()
    }
}

/** The tones a ToneCall uses unless told otherwise. */
val DEFAULT_TONES = listOf(440.0f, 880.0f)

/**
 * Places a call from this phone to [callee] through [mock], answers it on the callee with the
 * push it received, and returns once each side hears the other's tone. Fails with
 * [AssertionError] naming what did not happen within [timeout].
 */
suspend fun TestPhone.callWithTones(
    mock: DialtoneMock,
    callee: TestPhone,
    callerHz: Float = DEFAULT_TONES[0],
    calleeHz: Float = DEFAULT_TONES[1],
    timeout: Duration = 20.seconds,
): ToneCall {
    client.setAudioSource(AudioSource.Tone(callerHz))
    callee.client.setAudioSource(AudioSource.Tone(calleeHz))
    val placed = client.startCall(callee.clientId)
    try {
        val push = mock.nextPush(callee.pushToken, timeout.inWholeMilliseconds)
            ?: throw AssertionError("the callee received no push within $timeout")
        val callId = when (val outcome = callee.client.handlePush(push)) {
            is PushOutcome.Invite -> outcome.invite.callId
            // The event channel announced the call first: the push is its duplicate.
            is PushOutcome.Ignored -> outcome.callId ?: throw AssertionError("the callee ignored the push: ${outcome.reason}")
        }
        val incoming = callee.client.call(callId) ?: throw AssertionError("the callee has no call $callId")
        incoming.answer()
        val tones = listOf(callerHz, calleeHz)
        awaitTrue("the callee to hear ${callerHz} Hz", timeout) { callee.client.detectedRemoteTone(tones) == callerHz }
        awaitTrue("the caller to hear ${calleeHz} Hz", timeout) { client.detectedRemoteTone(tones) == calleeHz }
        return ToneCall(placed, incoming, callerHz, calleeHz)
    } catch (e: Throwable) {
        placed.hangup()
        throw e
    }
}

/** A room of test phones, each sending its own tone. */
class ToneRoom internal constructor(
    val phones: List<TestPhone>,
    val rooms: List<Room>,
    val tones: List<Float>,
) {
    /** Every phone leaves (each returns once its leave is done). */
    suspend fun leave() {
        rooms.forEach { it.leave() }
    }
}

/** Four tones 300–1900 Hz, 60 Hz or more apart, off each other's 2nd and 3rd harmonics. */
val ROOM_TONES = listOf(350.0f, 530.0f, 770.0f, 1130.0f)

/**
 * The first phone creates a room (extended profile) and the others enter it, each sending
 * its tone from [tones]; returns once every phone hears every other tone and never its own.
 * Fails with [AssertionError] naming what did not happen within [timeout].
 */
suspend fun DialtoneMock.room(
    vararg phones: TestPhone,
    tones: List<Float> = ROOM_TONES,
    timeout: Duration = 20.seconds,
): ToneRoom {
    require(phones.isNotEmpty() && phones.size <= tones.size) { "give 1 to ${tones.size} phones" }
    val rooms = mutableListOf<Room>()
    try {
        phones.forEachIndexed { i, p ->
            p.client.setAudioSource(AudioSource.Tone(tones[i]))
            rooms += if (i == 0) p.client.createRoom() else p.client.enterRoom(rooms[0].id())
        }
        val used = tones.take(phones.size)
        phones.forEachIndexed { i, p ->
            val others = used.filterIndexed { j, _ -> j != i }
            awaitTrue("phone $i to hear $others", timeout) { p.client.heardRemoteTones(used) == others }
        }
        return ToneRoom(phones.toList(), rooms, used)
    } catch (e: Throwable) {
        rooms.forEach { it.leave() }
        throw e
    }
}

/** Polls [check] every 20 ms until it holds; AssertionError naming [what] after [timeout]. */
suspend fun awaitTrue(what: String, timeout: Duration = 15.seconds, check: () -> Boolean) {
    try {
        withTimeout(timeout) {
            while (!check()) delay(20)
        }
    } catch (e: kotlinx.coroutines.TimeoutCancellationException) {
        throw AssertionError("timed out after $timeout waiting for $what")
    }
}
