// Test doubles for the platform: a call system that records what it was told, and a PCM
// device that "speaks" a sine tone into the microphone and records what the speaker plays.
package dev.dialtone.sample

import dev.dialtone.IncomingInvite
import dev.dialtone.Person
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.math.PI
import kotlin.math.cos
import kotlin.math.sin
import kotlin.math.sqrt

class RecordingCallSystem : CallSystem {
    val calls = CopyOnWriteArrayList<String>()
    override fun reportIncoming(invite: IncomingInvite) { calls += "incoming ${invite.callId}" }
    override fun reportOutgoing(callId: String, callee: Person) { calls += "outgoing ${callee.firstName}" }
    override fun setActive(callId: String) { calls += "active" }
    override fun end(callId: String, cause: EndCause) { calls += "end $cause" }
}

/** A microphone that hears a sine at [hz], paced in real time, and a speaker that records. */
class ToneDevice(private val hz: Double) : PcmDevice {
    @Volatile private var open = true
    private var phase = 0.0
    private val played = ShortArray(48_000)
    private var playedAt = 0
    private var start = System.nanoTime()
    @Volatile private var sent = 0L
    @Volatile private var playedTotal = 0L

    override fun read(buffer: ByteArray): Int {
        if (!open) return -1
        // Real-time pacing, as a microphone would.
        val due = start + sent * 1_000_000_000L / 48_000
        val wait = due - System.nanoTime()
        if (wait > 0) Thread.sleep(wait / 1_000_000, (wait % 1_000_000).toInt())
        for (i in 0 until buffer.size / 2) {
            val s = (sin(phase) * 8000).toInt()
            phase += 2 * PI * hz / 48_000
            buffer[2 * i] = (s and 0xff).toByte()
            buffer[2 * i + 1] = (s shr 8).toByte()
        }
        sent += buffer.size / 2
        return buffer.size
    }

    override fun write(buffer: ByteArray, count: Int) {
        if (!open) return
        synchronized(played) {
            for (i in 0 until count / 2) {
                val s = ((buffer[2 * i + 1].toInt() shl 8) or (buffer[2 * i].toInt() and 0xff)).toShort()
                played[playedAt] = s
                playedAt = (playedAt + 1) % played.size
            }
            playedTotal += count / 2
        }
        Thread.sleep(count / 2 * 1000L / 48_000)
    }

    /** The last half second played, oldest first, as -1..1. */
    private fun lastHalfSecond(): DoubleArray = synchronized(played) {
        val n = 24_000
        DoubleArray(n) { k -> played[(playedAt - n + k + played.size) % played.size] / 32768.0 }
    }

    /** Goertzel power of [hz] relative to the signal's, over the last half second played. */
    fun playedShare(hz: Double): Double {
        val samples = lastHalfSecond()
        val n = samples.size
        val w = 2 * PI * hz / 48_000
        var s1 = 0.0
        var s2 = 0.0
        var energy = 0.0
        for (x in samples) {
            energy += x * x
            val s0 = x + 2 * cos(w) * s1 - s2
            s2 = s1
            s1 = s0
        }
        val power = s1 * s1 + s2 * s2 - 2 * cos(w) * s1 * s2
        return if (energy < 1e-6) 0.0 else sqrt(power / (energy * n / 2))
    }

    /** What the device saw, for a failure message: how much each side moved, and what was heard. */
    fun describe(): String {
        val rms = lastHalfSecond().let { x -> sqrt(x.sumOf { it * it } / x.size) }
        return "mic %.1f s read, speaker %.1f s written, last 0.5 s: rms %.3f, 440 Hz %.2f, 880 Hz %.2f".format(
            sent / 48_000.0, playedTotal / 48_000.0, rms, playedShare(440.0), playedShare(880.0),
        )
    }

    override fun stop() { open = false }

    override fun close() { open = false }
}
