// Moves PCM between the device's audio I/O and the SDK on two threads, 20 ms at a time:
// the microphone's samples go to pushCapturePcm, the speaker gets what pullPlaybackPcm returns.
// The core keeps the codec, jitter buffer and clocks (docs/adr/0005); this class only needs
// something that can read and write 48 kHz mono 16-bit PCM: AudioRecord/AudioTrack in the
// app, a generated tone and a recorder in the JVM tests.
package dev.dialtone.sample

import dev.dialtone.DialtoneClient
import java.nio.ByteBuffer

/** 48 kHz mono 16-bit little-endian PCM in and out, blocking like AudioRecord/AudioTrack. */
interface PcmDevice : AutoCloseable {
    /** Fills [buffer] with captured PCM, blocking until it can; returns the bytes read, or -1 when closed. */
    fun read(buffer: ByteArray): Int

    /** Plays [count] bytes of [buffer], blocking while the device's buffer is full. */
    fun write(buffer: ByteArray, count: Int)

    /**
     * Makes blocked and later [read]s return -1 and [write]s return at once, without freeing
     * anything (AudioRecord.stop / AudioTrack.pause + flush): the pump calls it before joining
     * its threads, and only then [close]s, so nothing is released under a thread inside it.
     */
    fun stop()
}

class AudioPump(private val client: DialtoneClient, private val device: PcmDevice) : AutoCloseable {
    @Volatile private var running = false
    private val threads = mutableListOf<Thread>()

    fun start() {
        if (running) return
        running = true
        threads += Thread({
            val frame = ByteArray(FRAME_BYTES)
            // The SDK borrows a direct buffer for the call (no copy, no allocation per frame).
            val direct = ByteBuffer.allocateDirect(FRAME_BYTES)
            while (running) {
                val n = device.read(frame)
                if (n < 0) break
                if (n > 0) {
                    direct.clear()
                    direct.put(frame, 0, n)
                    direct.flip()
                    client.pushCapturePcm(direct)
                }
            }
        }, "dialtone-capture")
        threads += Thread({
            while (running) {
                // Blocking writes pace this loop at the device's rate.
                val pcm = client.pullPlaybackPcm(FRAME_SAMPLES.toUInt())
                device.write(pcm, pcm.size)
            }
        }, "dialtone-playback")
        threads.forEach { it.isDaemon = true; it.start() }
    }

    /**
     * Stops both threads, then releases the device: [PcmDevice.stop] unblocks them, the join
     * waits until neither is inside the device, and only then is it closed (releasing an
     * AudioRecord a thread is blocked in crashes in native code).
     */
    override fun close() {
        running = false
        device.stop()
        threads.forEach { it.join() }
        threads.clear()
        device.close()
    }

    companion object {
        const val SAMPLE_RATE = 48_000
        const val FRAME_SAMPLES = 960
        const val FRAME_BYTES = FRAME_SAMPLES * 2
    }
}
