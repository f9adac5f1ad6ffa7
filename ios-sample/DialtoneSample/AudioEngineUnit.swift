// AVAudioEngine as the coordinator's AudioUnit: the input node's tap feeds the SDK's
// capture (converted to 48 kHz mono Float32 if the hardware runs otherwise), and a source
// node renders the SDK's playback. Started from provider(_:didActivate:) only.
import AVFoundation
import DialtoneSampleKit

final class AudioEngineUnit: AudioUnit, @unchecked Sendable {
    private var engine: AVAudioEngine?
    private let format = AVAudioFormat(standardFormatWithSampleRate: AudioBridge.sampleRate, channels: 1)!

    func start(bridge: AudioBridge) throws {
        stop()
        let engine = AVAudioEngine()
        let input = engine.inputNode
        try input.setVoiceProcessingEnabled(true) // echo cancellation for speakerphone
        let hardware = input.outputFormat(forBus: 0)
        let converter = AVAudioConverter(from: hardware, to: format)
        input.installTap(onBus: 0, bufferSize: 960, format: hardware) { [format] buffer, _ in
            guard let converter else { return }
            let capacity = AVAudioFrameCount(Double(buffer.frameLength) * format.sampleRate / hardware.sampleRate) + 1
            guard let out = AVAudioPCMBuffer(pcmFormat: format, frameCapacity: capacity) else { return }
            var fed = false
            converter.convert(to: out, error: nil) { _, status in
                if fed { status.pointee = .noDataNow; return nil }
                fed = true
                status.pointee = .haveData
                return buffer
            }
            if let data = out.floatChannelData?[0] {
                bridge.capture(UnsafeBufferPointer(start: data, count: Int(out.frameLength)))
            }
        }
        let source = AVAudioSourceNode(format: format) { _, _, frameCount, audioBufferList -> OSStatus in
            let buffers = UnsafeMutableAudioBufferListPointer(audioBufferList)
            if let data = buffers.first?.mData?.assumingMemoryBound(to: Float.self) {
                bridge.render(into: UnsafeMutableBufferPointer(start: data, count: Int(frameCount)))
            }
            return noErr
        }
        engine.attach(source)
        engine.connect(source, to: engine.mainMixerNode, format: format)
        engine.prepare()
        try engine.start()
        self.engine = engine
    }

    func stop() {
        guard let engine else { return }
        engine.inputNode.removeTap(onBus: 0)
        engine.stop()
        self.engine = nil
    }
}
