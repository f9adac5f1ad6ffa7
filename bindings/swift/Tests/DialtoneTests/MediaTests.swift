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
    func ended(_ reason: CallEndReason) -> Bool {
        all.contains { if case .stateChanged(_, .ended(let r)) = $0 { return r == reason } else { return false } }
    }
}

final class MediaTests: XCTestCase, @unchecked Sendable {
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

    /// Audio through the real-time edge: Alice's microphone is what she pushes, Bob's speaker
    /// what he pulls, and a gone client's edge is silence.
    func testTheAudioEdgeCarriesPcmBothWays() async throws {
        var alice: DialtoneClient? = try newClient()
        let bob = try newClient()
        let aliceEdge = try alice!.audioEdge()
        XCTAssertEqual(aliceEdge, try alice!.audioEdge(), "one handle per client")
        _ = try await alice!.register(push: PushToken(kind: .fcm, token: "sw-edge-alice"))
        let bobId = try await bob.register(push: PushToken(kind: .fcm, token: "sw-edge-bob"))
        alice!.setAudioSource(source: .microphone)
        bob.setAudioSource(source: .tone(frequencyHz: 880))
        _ = try await alice!.startCall(calleeClientId: bobId)
        _ = try await bob.joinCall(participantToken: try await tokenFromPush("sw-edge-bob"))

        // Alice's "microphone": a 660 Hz sine, 20 ms at a time, from one buffer.
        let frames = 960
        let mic = UnsafeMutableBufferPointer<Int16>.allocate(capacity: frames)
        defer { mic.deallocate() }
        var phase = 0.0
        let deadline = Date().addingTimeInterval(15)
        var heard = false
        while Date() < deadline && !heard {
            for i in 0..<frames {
                mic[i] = Int16(8000 * sin(phase))
                phase += 2 * Double.pi * 660 / 48_000
            }
            XCTAssertEqual(aliceEdge.push(UnsafeBufferPointer(mic)), frames)
            try await Task.sleep(nanoseconds: 20_000_000)
            heard = bob.detectedRemoteTone(candidatesHz: [660, 880]) == 660
        }
        XCTAssertTrue(heard, "Bob hears what Alice pushed")

        // Bob's speaker: what arrived, pulled through his edge.
        let bobEdge = try bob.audioEdge()
        let speaker = UnsafeMutableBufferPointer<Int16>.allocate(capacity: frames)
        defer { speaker.deallocate() }
        try await eventually("Bob's edge to play audio", seconds: 5) {
            bobEdge.pull(into: speaker) == frames && speaker.contains { $0 != 0 }
        }
        try await alice!.endCall()
        try await bob.endCall()

        // Alice's client is gone: her handle is silence now, never a dangling pointer.
        alice = nil
        try await eventually("Alice's edge to fall silent", seconds: 5) {
            speaker.update(repeating: 5)
            return aliceEdge.pull(into: speaker) == frames && speaker.allSatisfy { $0 == 0 }
        }
        XCTAssertEqual(aliceEdge.push(UnsafeBufferPointer(speaker)), 0)
    }

    func testTonesCrossTheCallBothWaysAndMuteSilences() async throws {
        let alice = try newClient()
        let bob = try newClient()
        _ = try await alice.register(push: PushToken(kind: .fcm, token: "sw-media-alice"))
        let bobId = try await bob.register(push: PushToken(kind: .fcm, token: "sw-media-bob"))
        alice.setAudioSource(source: .tone(frequencyHz: 440))
        bob.setAudioSource(source: .tone(frequencyHz: 880))
        let recorder = CallRecorder()
        let handle = try alice.observeCall(listener: recorder)

        _ = try await alice.startCall(calleeClientId: bobId)
        _ = try await bob.joinCall(participantToken: try await tokenFromPush("sw-media-bob"))
        try await eventually("Bob to hear 440 Hz") { bob.detectedRemoteTone(candidatesHz: tones) == 440 }
        try await eventually("Alice to hear 880 Hz") { alice.detectedRemoteTone(candidatesHz: tones) == 880 }
        // Events reach the listener on their own thread: under load the tone can be detected
        // before Connected is delivered, so wait for it too.
        try await eventually("Alice's Connected event", seconds: 5) {
            recorder.all.contains { if case .stateChanged(_, .connected) = $0 { return true } else { return false } }
        }

        alice.setMuted(muted: true)
        try await eventually("Bob to stop hearing Alice", seconds: 5) { bob.detectedRemoteTone(candidatesHz: tones) == nil }
        alice.setMuted(muted: false)

        try await alice.endCall()
        try await bob.endCall()
        try await eventually("the call to end", seconds: 5) { recorder.ended(.localHangup) }
        handle.cancel()
    }

    /// The dictionary exactly as PushKit's `payload.dictionaryPayload`, serialised to JSON.
    func pushKitPayload(_ deviceToken: String) async throws -> String {
        let url = URL(string: "\(SharedMock.baseURL)/mock/pushes?deviceToken=\(deviceToken)&waitMs=3000")!
        let data: Data = try await withCheckedThrowingContinuation { cont in
            URLSession.shared.dataTask(with: url) { data, _, error in
                if let error { cont.resume(throwing: error) } else { cont.resume(returning: data ?? Data()) }
            }.resume()
        }
        let outbox = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let push = (outbox["pushes"] as! [[String: Any]])[0]
        let dictionaryPayload = push["payload"] as! [String: Any]
        return String(decoding: try JSONSerialization.data(withJSONObject: dictionaryPayload), as: UTF8.self)
    }

    func testAVoIPPushRingsOnceAndAnswerJoinsTheCall() async throws {
        let alice = try newClient()
        let bob = try newClient()
        _ = try await alice.register(push: PushToken(kind: .fcm, token: "sw-in-alice"))
        _ = try await alice.saveProfile(firstName: "Alice", lastName: "Swift")
        let bobId = try await bob.register(push: PushToken(kind: .apnsVoip, token: "sw-in-bob"))
        alice.setAudioSource(source: .tone(frequencyHz: 440))
        bob.setAudioSource(source: .tone(frequencyHz: 880))
        _ = try await alice.startCall(calleeClientId: bobId)

        let payload = try await pushKitPayload("sw-in-bob")
        guard case .invite(let invite) = try bob.handlePush(payload: payload) else {
            return XCTFail("a VoIP push must become an invite")
        }
        XCTAssertEqual(invite.callerName, "Alice Swift")
        XCTAssertNotNil(UUID(uuidString: invite.callId), "CallKit needs a UUID")
        XCTAssertEqual(try bob.handlePush(payload: payload), .ignored(reason: .duplicate, callId: invite.callId))

        let incoming = try XCTUnwrap(bob.call(callId: invite.callId))
        XCTAssertEqual(incoming.state(), .ringing)
        try await incoming.answer()
        try await eventually("Bob to hear Alice") { bob.detectedRemoteTone(candidatesHz: tones) == 440 }
        try await eventually("Alice to hear Bob") { alice.detectedRemoteTone(candidatesHz: tones) == 880 }
        try await incoming.hangup()
        try await alice.endCall()
    }

    func testDeclineAndMalformedPushes() async throws {
        let alice = try newClient()
        let bob = try newClient()
        _ = try await alice.register(push: PushToken(kind: .fcm, token: "sw-dec-alice"))
        let bobId = try await bob.register(push: PushToken(kind: .apnsVoip, token: "sw-dec-bob"))
        let recorder = CallRecorder()
        let handle = try alice.observeCall(listener: recorder)
        _ = try await alice.startCall(calleeClientId: bobId)
        guard case .invite(let invite) = try bob.handlePush(payload: try await pushKitPayload("sw-dec-bob")) else {
            return XCTFail("expected an invite")
        }
        try await bob.decline(callId: invite.callId)
        try await eventually("Alice to hear the call end", seconds: 5) { recorder.ended(.remoteEnded) }
        XCTAssertThrowsError(try bob.handlePush(payload: "{not json")) { error in
            guard case DialtoneError.InvalidInput = error else { return XCTFail("got \(error)") }
        }
        try await alice.endCall()
        handle.cancel()
    }

    func testAForgedTokenIsATypedError() async throws {
        let client = try newClient()
        do {
            _ = try await client.joinCall(participantToken: "not-a-jwt")
            XCTFail("a forged token must be refused")
        } catch DialtoneError.TokenRefused(let detail) {
            XCTAssertTrue(detail.contains("well-formed"), detail)
        }
    }
}
