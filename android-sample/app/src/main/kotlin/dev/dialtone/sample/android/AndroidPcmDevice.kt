// The phone's microphone and speaker as the sample's PcmDevice: AudioRecord with the
// VOICE_COMMUNICATION source (the platform's echo canceller and noise suppressor) and
// AudioTrack with USAGE_VOICE_COMMUNICATION, both 48 kHz mono 16-bit. Created only once a
// call has audio (RECORD_AUDIO was granted before placing or answering).
package dev.dialtone.sample.android

import android.annotation.SuppressLint
import android.media.AudioAttributes
import android.media.AudioFormat
import android.media.AudioRecord
import android.media.AudioTrack
import android.media.MediaRecorder
import dev.dialtone.sample.AudioPump
import dev.dialtone.sample.PcmDevice

@SuppressLint("MissingPermission") // checked before any call starts (MainActivity.withMicrophone)
class AndroidPcmDevice : PcmDevice {
    private val rate = AudioPump.SAMPLE_RATE
    private val recordBytes = maxOf(
        AudioRecord.getMinBufferSize(rate, AudioFormat.CHANNEL_IN_MONO, AudioFormat.ENCODING_PCM_16BIT),
        AudioPump.FRAME_BYTES * 4,
    )
    private val record = AudioRecord(
        MediaRecorder.AudioSource.VOICE_COMMUNICATION, rate,
        AudioFormat.CHANNEL_IN_MONO, AudioFormat.ENCODING_PCM_16BIT, recordBytes,
    )
    private val track = AudioTrack.Builder()
        .setAudioAttributes(
            AudioAttributes.Builder()
                .setUsage(AudioAttributes.USAGE_VOICE_COMMUNICATION)
                .setContentType(AudioAttributes.CONTENT_TYPE_SPEECH)
                .build(),
        )
        .setAudioFormat(
            AudioFormat.Builder()
                .setSampleRate(rate)
                .setChannelMask(AudioFormat.CHANNEL_OUT_MONO)
                .setEncoding(AudioFormat.ENCODING_PCM_16BIT)
                .build(),
        )
        .setBufferSizeInBytes(
            maxOf(
                AudioTrack.getMinBufferSize(rate, AudioFormat.CHANNEL_OUT_MONO, AudioFormat.ENCODING_PCM_16BIT),
                AudioPump.FRAME_BYTES * 4,
            ),
        )
        .setTransferMode(AudioTrack.MODE_STREAM)
        .setPerformanceMode(AudioTrack.PERFORMANCE_MODE_LOW_LATENCY)
        .build()
    @Volatile private var open = true

    init {
        record.startRecording()
        track.play()
    }

    override fun read(buffer: ByteArray): Int {
        if (!open) return -1
        val n = record.read(buffer, 0, buffer.size, AudioRecord.READ_BLOCKING)
        return if (n < 0) -1 else n
    }

    override fun write(buffer: ByteArray, count: Int) {
        if (open) track.write(buffer, 0, count, AudioTrack.WRITE_BLOCKING)
    }

    // AudioRecord.stop() makes a blocked read return; AudioTrack.pause() + flush() makes a
    // blocked WRITE_BLOCKING write return (developer.android.com AudioTrack#pause, #flush).
    override fun stop() {
        if (!open) return
        open = false
        runCatching { record.stop() }
        runCatching { track.pause(); track.flush() }
    }

    /** Called by AudioPump only after both threads have left read/write. */
    override fun close() {
        stop()
        runCatching { track.stop() }
        record.release()
        track.release()
    }
}
