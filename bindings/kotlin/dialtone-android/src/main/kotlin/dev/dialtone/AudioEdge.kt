// The real-time audio edge for the app's audio thread: captured PCM in and PCM to play out
// through two plain C functions of libdialtone (core/src/ffi/audio_edge.rs), bound with JNA's
// direct mapping over direct buffers, so nothing is allocated, locked or copied twice on the
// way (the UniFFI functions pushCapturePcm/pullPlaybackPcm allocate a buffer per call).
package dev.dialtone

import com.sun.jna.Native
import java.nio.ShortBuffer

/**
 * One client's audio edge: 48 kHz mono 16-bit PCM, native byte order, from the start of a
 * direct buffer (`ByteBuffer.allocateDirect(n * 2).order(ByteOrder.nativeOrder())
 * .asShortBuffer()`), allocated once by the app and reused. Safe to call from the audio
 * thread. Once its client is closed, [pull] yields silence and [push] takes nothing.
 */
class AudioEdge internal constructor(val handle: Long) {
    /** Copies the first [frames] samples of [pcm] to the call; returns how many it took. */
    fun push(pcm: ShortBuffer, frames: Int = pcm.capacity()): Int {
        require(pcm.isDirect) { "the audio edge takes direct buffers only" }
        return AudioEdgeNative.dialtone_audio_push(handle, pcm, minOf(frames, pcm.capacity()))
    }

    /** Fills the first [frames] samples of [into] with what there is to play (silence where
     * nothing arrived); returns how many it wrote. */
    fun pull(into: ShortBuffer, frames: Int = into.capacity()): Int {
        require(into.isDirect) { "the audio edge takes direct buffers only" }
        return AudioEdgeNative.dialtone_audio_pull(handle, into, minOf(frames, into.capacity()))
    }
}

/** This client's audio edge (the same handle each time). */
fun DialtoneClient.audioEdge(): AudioEdge = AudioEdge(audioHandle().toLong())

/** JNA's direct mapping of `dialtone_audio.h`: static natives bound once to libdialtone. */
internal object AudioEdgeNative {
    init {
        Native.register(AudioEdgeNative::class.java, "dialtone")
    }

    @JvmStatic external fun dialtone_audio_push(handle: Long, pcm: ShortBuffer, frames: Int): Int

    @JvmStatic external fun dialtone_audio_pull(handle: Long, pcm: ShortBuffer, frames: Int): Int
}
