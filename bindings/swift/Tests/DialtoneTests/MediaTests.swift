// A real call from Swift: tones cross the call both ways through the mock's gateway and
// SFU; mute silences; a forged token is a typed error.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
@testable import Dialtone

final class CallRecorder: CallListener, @unchecked Sendable {
    private let lock = NSLock()
    private var events: [CallEvent] = []
    func onCallEvent(event: CallEvent) { lock.lock(); events.append(event); lock.unlock() }
    var all: [CallEvent] { lock.lock(); defer { lock.unlock() }; return events }
}

final class MediaTests: XCTestCase {
    let tones: [Float] = [440, 880]

    func newClient() throws -> DialtoneClient {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dialtone-swift-media-\(UUID().uuidString)")
        return try DialtoneClient(config: BackendConfig.mock(baseUrl: SharedMock.baseURL, apiKey: nil), dataDir: dir.path)
    }

    func tokenFromPush(_ deviceToken: String) async throws -> String {
        let url = URL(string: "\(SharedMock.baseURL)/mock/pushes?deviceToken=\(deviceToken)&waitMs=3000")!
        let body: String = try await withCheckedThrowingContinuation { cont in
            URLSession.shared.dataTask(with: url) { data, _, error in
                if let error { cont.resume(throwing: error) } else { cont.resume(returning: String(decoding: data ?? Data(), as: UTF8.self)) }
            }.resume()
        }
        guard let range = body.range(of: "tok=") else { throw NSError(domain: "no token in \(body)", code: 1) }
        return String(body[range.upperBound...].prefix { $0.isLetter || $0.isNumber || "-_.".contains($0) })
    }

    func eventually(_ what: String, seconds: Double = 15, _ check: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if check() { return }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        XCTFail("timed out waiting for \(what)")
    }

    func testTonesCrossTheCallBothWaysAndMuteSilences() async throws {
        let alice = try newClient()
        let bob = try newClient()
        _ = try await alice.register(push: PushToken(kind: .fcm, token: "sw-media-alice"))
        let bobId = try await bob.register(push: PushToken(kind: .fcm, token: "sw-media-bob"))
        alice.setAudioSource(source: .tone(frequencyHz: 440))
        bob.setAudioSource(source: .tone(frequencyHz: 880))
        let recorder = CallRecorder()
        let handle = alice.observeCall(listener: recorder)

        _ = try await alice.startCall(calleeClientId: bobId)
        try await bob.joinCall(participantToken: try await tokenFromPush("sw-media-bob"))
        try await eventually("Bob to hear 440 Hz") { bob.detectedRemoteTone(candidatesHz: tones) == 440 }
        try await eventually("Alice to hear 880 Hz") { alice.detectedRemoteTone(candidatesHz: tones) == 880 }
        XCTAssertTrue(recorder.all.contains(.connected))

        alice.setMuted(muted: true)
        try await eventually("Bob to stop hearing Alice", seconds: 5) { bob.detectedRemoteTone(candidatesHz: tones) == nil }
        alice.setMuted(muted: false)

        try await alice.endCall()
        try await bob.endCall()
        try await eventually("the call to end", seconds: 5) { recorder.all.contains(.ended(reason: .localHangup)) }
        handle.cancel()
    }

    func testAForgedTokenIsATypedError() async throws {
        let client = try newClient()
        do {
            try await client.joinCall(participantToken: "not-a-jwt")
            XCTFail("a forged token must be refused")
        } catch DialtoneError.TokenRefused(let detail) {
            XCTAssertTrue(detail.contains("well-formed"), detail)
        }
    }
}
