// Between the device's audio and the SDK: Float32 samples in [-1, 1] (what AVAudioEngine's
// input tap and source node use) to and from the SDK's 16-bit little-endian PCM, 48 kHz mono.
// The app's AVAudioEngine calls `capture` from the input tap and `render` from a source
// node; the SDK keeps the codec, jitter buffer and clocks.
import Foundation
import Dialtone

public final class AudioBridge: @unchecked Sendable {
    public static let sampleRate = 48_000.0
    private let client: DialtoneClient

    public init(client: DialtoneClient) {
        self.client = client
    }

    /// Microphone samples (48 kHz mono Float32), any count.
    public func capture(_ samples: UnsafeBufferPointer<Float>) {
        var pcm = Data(count: samples.count * 2)
        pcm.withUnsafeMutableBytes { raw in
            let out = raw.bindMemory(to: Int16.self)
            for (i, s) in samples.enumerated() {
                out[i] = Int16(max(-1, min(1, s)) * 32767).littleEndian
            }
        }
        client.pushCapturePcm(pcm: pcm)
    }

    /// Fills `out` with the next samples to play (silence where nothing has arrived).
    public func render(into out: UnsafeMutableBufferPointer<Float>) {
        let pcm = client.pullPlaybackPcm(count: UInt32(out.count))
        pcm.withUnsafeBytes { raw in
            let samples = raw.bindMemory(to: Int16.self)
            for i in 0..<out.count {
                out[i] = i < samples.count ? Float(Int16(littleEndian: samples[i])) / 32768 : 0
            }
        }
    }
}
