// AVAudioEngine as the coordinator's AudioUnit: the input node's tap feeds the SDK's
// capture (converted to 48 kHz mono Float32 if the hardware runs otherwise), and a source
// node renders the SDK's playback. Started from provider(_:didActivate:) only.
//
// It also keeps audio going through what a phone does to it (AVAudioSession and
// AVAudioEngine documentation, "Responding to audio session interruptions" and
// "AVAudioEngineConfigurationChange"):
//   - an interruption (a cellular call, Siri, an alarm) stops the engine; when it ends with
//     `.shouldResume`, the engine is rebuilt and started again;
//   - a route change (headphones pulled, Bluetooth connected) or an engine configuration
//     change (the hardware's format changed) rebuilds the engine on the new hardware format;
//   - the user's route choice: `routes` lists the session's inputs plus the built-in speaker,
//     `select(_:)` sets the preferred input or overrides the output to the speaker.
// Thread safety: `engine`, `bridge` and `observers` are touched only on `queue` (start/stop
// hop onto it synchronously, notifications asynchronously): that confinement is what the
// `@unchecked Sendable` stands for.
import AVFoundation
import DialtoneSampleKit

/// An audio route the user can choose.
struct AudioRoute: Identifiable, Equatable, Sendable {
    enum Kind: Equatable, Sendable { case receiver, speaker, input(uid: String) }
    let kind: Kind
    let name: String
    var id: String {
        switch kind {
        case .receiver: return "receiver"
        case .speaker: return "speaker"
        case .input(let uid): return uid
        }
    }
}

final class AudioEngineUnit: AudioUnit, @unchecked Sendable {
    private let queue = DispatchQueue(label: "dev.dialtone.sample.audio")
    private var engine: AVAudioEngine?
    private var bridge: AudioBridge?
    private var observers: [NSObjectProtocol] = []
    /// The current engine's AVAudioEngineConfigurationChange observer.
    private var configurationObserver: NSObjectProtocol?
    private let format = AVAudioFormat(standardFormatWithSampleRate: AudioBridge.sampleRate, channels: 1)!

    init() {
        let center = NotificationCenter.default
        let session = AVAudioSession.sharedInstance()
        observers = [
            center.addObserver(forName: AVAudioSession.interruptionNotification, object: session, queue: nil) { [weak self] note in
                let type = (note.userInfo?[AVAudioSessionInterruptionTypeKey] as? UInt).flatMap(AVAudioSession.InterruptionType.init)
                let options = (note.userInfo?[AVAudioSessionInterruptionOptionKey] as? UInt).map(AVAudioSession.InterruptionOptions.init) ?? []
                self?.queue.async { self?.interrupted(type, resume: options.contains(.shouldResume)) }
            },
            center.addObserver(forName: AVAudioSession.routeChangeNotification, object: session, queue: nil) { [weak self] note in
                let reason = (note.userInfo?[AVAudioSessionRouteChangeReasonKey] as? UInt).flatMap(AVAudioSession.RouteChangeReason.init)
                self?.queue.async { self?.routeChanged(reason) }
            },
            center.addObserver(forName: AVAudioSession.mediaServicesWereResetNotification, object: session, queue: nil) { [weak self] _ in
                // The audio daemon restarted: every engine is invalid; build a new one.
                self?.queue.async { self?.rebuild() }
            },
        ]
    }

    deinit {
        (observers + [configurationObserver].compactMap { $0 }).forEach(NotificationCenter.default.removeObserver)
    }

    func start(bridge: AudioBridge) throws {
        try queue.sync {
            self.bridge = bridge
            try build()
        }
    }

    func stop() {
        queue.sync {
            bridge = nil
            teardown()
        }
    }

    // MARK: Routes

    /// The built-in receiver and speaker, and every input the session offers (wired headset,
    /// Bluetooth HFP, USB): what a call screen's route menu shows.
    var routes: [AudioRoute] {
        let session = AVAudioSession.sharedInstance()
        var routes = [AudioRoute(kind: .receiver, name: "iPhone"), AudioRoute(kind: .speaker, name: "Speaker")]
        for input in session.availableInputs ?? [] where input.portType != .builtInMic {
            routes.append(AudioRoute(kind: .input(uid: input.uid), name: input.portName))
        }
        return routes
    }

    /// The route in use now.
    var currentRoute: AudioRoute.Kind {
        let route = AVAudioSession.sharedInstance().currentRoute
        if route.outputs.contains(where: { $0.portType == .builtInSpeaker }) { return .speaker }
        if let input = route.inputs.first, input.portType != .builtInMic { return .input(uid: input.uid) }
        return .receiver
    }

    func select(_ route: AudioRoute) throws {
        let session = AVAudioSession.sharedInstance()
        switch route.kind {
        case .speaker:
            try session.overrideOutputAudioPort(.speaker)
        case .receiver:
            try session.overrideOutputAudioPort(.none)
            try session.setPreferredInput(session.availableInputs?.first { $0.portType == .builtInMic })
        case .input(let uid):
            try session.overrideOutputAudioPort(.none)
            try session.setPreferredInput(session.availableInputs?.first { $0.uid == uid })
        }
        // The route change notification rebuilds the engine on the new hardware format.
    }

    // MARK: On `queue`

    private func interrupted(_ type: AVAudioSession.InterruptionType?, resume: Bool) {
        switch type {
        case .began?: teardown() // the system already stopped the engine
        case .ended? where resume: rebuild()
        default: break
        }
    }

    private func routeChanged(_ reason: AVAudioSession.RouteChangeReason?) {
        switch reason {
        case .newDeviceAvailable?, .oldDeviceUnavailable?, .override?, .categoryChange?, .routeConfigurationChange?:
            rebuild()
        default:
            break
        }
    }

    /// Builds a new engine for the current hardware if a call has audio.
    private func rebuild() {
        guard bridge != nil else { return }
        do {
            try build()
        } catch {
            NSLog("audio could not restart: \(error)")
        }
    }

    private func build() throws {
        teardown()
        guard let bridge else { return }
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
        // The hardware's format changed under a running engine (sample rate, channels): it
        // stopped itself; build again on the new format.
        configurationObserver = NotificationCenter.default.addObserver(
            forName: .AVAudioEngineConfigurationChange, object: engine, queue: nil
        ) { [weak self] _ in self?.queue.async { self?.rebuild() } }
        engine.prepare()
        try engine.start()
        self.engine = engine
    }

    private func teardown() {
        guard let engine else { return }
        if let configurationObserver { NotificationCenter.default.removeObserver(configurationObserver) }
        configurationObserver = nil
        engine.inputNode.removeTap(onBus: 0)
        engine.stop()
        self.engine = nil
    }
}
