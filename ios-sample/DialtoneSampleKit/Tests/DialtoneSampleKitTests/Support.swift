// Test doubles for the platform: a CallKit stand-in that records reports, an audio unit
// that "speaks" a sine into the bridge and records what the bridge renders (paced like a
// device), and the mock server (extended profile), started once per test run.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Dialtone
@testable import DialtoneSampleKit

final class RecordingReporter: CallReporter, @unchecked Sendable {
    private let lock = NSLock()
    private var log: [String] = []
    var entries: [String] { lock.lock(); defer { lock.unlock() }; return log }
    private func add(_ s: String) { lock.lock(); log.append(s); lock.unlock() }

    func reportIncoming(uuid: UUID, handle: String, callerName: String?, completion: @escaping @Sendable (Error?) -> Void) {
        add("incoming \(uuid.uuidString.lowercased())")
        completion(nil)
    }
    func reportEnded(uuid: UUID, reason: CallEndedReason) { add("ended \(uuid.uuidString.lowercased()) \(reason.rawValue)") }
    func reportOutgoingConnecting(uuid: UUID) { add("connecting") }
    func reportOutgoingConnected(uuid: UUID) { add("connected") }
}

final class ToneAudioUnit: AudioUnit, @unchecked Sendable {
    private let hz: Double
    private let lock = NSLock()
    private var thread: Thread?
    private var running = false
    private var played = [Float](repeating: 0, count: 24_000)
    private var playedAt = 0
    private(set) var starts = 0

    init(hz: Double) { self.hz = hz }

    func start(bridge: AudioBridge) throws {
        lock.lock(); defer { lock.unlock() }
        guard !running else { return }
        running = true
        starts += 1
        let hz = self.hz
        let t = Thread { [weak self] in
            var phase = 0.0
            var mic = [Float](repeating: 0, count: 960)
            var out = [Float](repeating: 0, count: 960)
            let begin = Date()
            var frames = 0.0
            while let self, self.isRunning {
                for i in 0..<mic.count {
                    mic[i] = Float(sin(phase) * 0.25)
                    phase += 2 * Double.pi * hz / 48_000
                }
                mic.withUnsafeBufferPointer { bridge.capture($0) }
                out.withUnsafeMutableBufferPointer { bridge.render(into: $0) }
                self.record(out)
                frames += 1
                let due = begin.addingTimeInterval(frames * 0.02)
                let wait = due.timeIntervalSinceNow
                if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            }
        }
        thread = t
        t.start()
    }

    var isRunning: Bool { lock.lock(); defer { lock.unlock() }; return running }

    func stop() { lock.lock(); running = false; lock.unlock() }

    private func record(_ out: [Float]) {
        lock.lock(); defer { lock.unlock() }
        for s in out { played[playedAt] = s; playedAt = (playedAt + 1) % played.count }
    }

    /// How much of the last half second played is `hz` (Goertzel, 0…1).
    func playedShare(_ hz: Double) -> Double {
        lock.lock(); defer { lock.unlock() }
        let n = played.count
        let w = 2 * Double.pi * hz / 48_000
        var s1 = 0.0, s2 = 0.0, energy = 0.0
        for k in 0..<n {
            let x = Double(played[(playedAt + k) % n])
            energy += x * x
            let s0 = x + 2 * cos(w) * s1 - s2
            s2 = s1; s1 = s0
        }
        let power = s1 * s1 + s2 * s2 - 2 * cos(w) * s1 * s2
        return energy < 1e-6 ? 0 : (power / (energy * Double(n) / 2)).squareRoot()
    }
}

nonisolated(unsafe) private var mockProcess: Process?

enum SampleMock {
    static let baseURL: String = {
        guard let bin = ProcessInfo.processInfo.environment["DIALTONE_MOCK_BIN"] else { fatalError("DIALTONE_MOCK_BIN is not set") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = ["--listen", "127.0.0.1:0", "--profile", "extended", "--exit-on-stdin-eof"]
        process.standardInput = Pipe()
        let pipe = Pipe()
        process.standardOutput = pipe
        try! process.run()
        var line = Data()
        while true {
            let byte = pipe.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        let first = String(decoding: line, as: UTF8.self)
        let prefix = "dialtone-mock listening on "
        precondition(first.hasPrefix(prefix), "unexpected first line: \(first)")
        mockProcess = process
        atexit { mockProcess?.terminate() }
        initLogging(level: .warn, sink: nil)
        return String(first.dropFirst(prefix.count))
    }()

    static func client() throws -> DialtoneClient {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dialtone-kit-\(UUID().uuidString)")
        return try DialtoneClient(config: BackendSettings.mock(baseURL: baseURL).config(), dataDir: dir.path)
    }

    /// The device's next push, as PushKit's `dictionaryPayload`.
    static func pushKitDictionary(_ deviceToken: String) async throws -> [AnyHashable: Any] {
        let url = URL(string: "\(baseURL)/mock/pushes?deviceToken=\(deviceToken)&waitMs=3000")!
        let data: Data = try await withCheckedThrowingContinuation { cont in
            URLSession.shared.dataTask(with: url) { data, _, error in
                if let error { cont.resume(throwing: error) } else { cont.resume(returning: data ?? Data()) }
            }.resume()
        }
        let outbox = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        guard let payload = (outbox?["pushes"] as? [[String: Any]])?.first?["payload"] as? [String: Any] else {
            throw NSError(domain: "no push for \(deviceToken)", code: 1)
        }
        return payload
    }
}

func eventually(_ what: String, seconds: Double = 15, _ check: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if check() { return }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
    throw NSError(domain: "timed out waiting for \(what)", code: 3)
}
