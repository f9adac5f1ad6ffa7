// The incoming path from Swift against the mock's extended profile: the PushKit dictionary
// (call id, caller, sentAt, and no token), the same call announced on the event channel and
// read from incomingCalls as a Call, answer with audio both ways and each call's states as
// an AsyncStream, the caller told the callee declined, busy, and another installation's
// clientIds refused.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
@testable import Dialtone

final class ExtendedTests: XCTestCase, @unchecked Sendable {
    let tones: [Float] = [440, 880]

    func newClient() throws -> DialtoneClient {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dialtone-swift-ext-\(UUID().uuidString)")
        return try DialtoneClient(config: BackendConfig.mock(baseUrl: SharedMock.extendedURL, apiKey: nil), dataDir: dir.path)
    }

    /// The device's next push as PushKit's `dictionaryPayload`.
    func pushKitDictionary(_ deviceToken: String) async throws -> [AnyHashable: Any] {
        let url = URL(string: "\(SharedMock.extendedURL)/mock/pushes?deviceToken=\(deviceToken)&waitMs=3000")!
        let data: Data = try await withCheckedThrowingContinuation { cont in
            URLSession.shared.dataTask(with: url) { data, _, error in
                if let error { cont.resume(throwing: error) } else { cont.resume(returning: data ?? Data()) }
            }.resume()
        }
        let outbox = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let pushes = outbox?["pushes"] as? [[String: Any]] ?? []
        guard let payload = pushes.first?["payload"] as? [String: Any] else {
            throw NSError(domain: "no push for \(deviceToken)", code: 1)
        }
        return payload
    }

    func eventually(_ what: String, seconds: Double = 15, _ check: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if check() { return }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        XCTFail("timed out waiting for \(what)")
    }

    func testATokenFreePushAndTheEventChannelRingOnceAndAnswerJoins() async throws {
        let alice = try newClient()
        let bob = try newClient()
        let aliceId = try await alice.register(push: PushToken(kind: .fcm, token: "sw-ext-alice"))
        _ = try await alice.saveProfile(firstName: "Alice", lastName: "Swift")
        let bobId = try await bob.register(push: PushToken(kind: .apnsVoip, token: "sw-ext-bob"))
        try await eventually("both event channels", seconds: 5) { alice.isEventChannelConnected() && bob.isEventChannelConnected() }
        alice.setAudioSource(source: .tone(frequencyHz: 440))
        bob.setAudioSource(source: .tone(frequencyHz: 880))

        var bobCalls = bob.incomingCalls.makeAsyncIterator()
        let call = try await alice.placeCall(to: bobId)
        XCTAssertEqual(call.direction(), .outgoing)
        XCTAssertEqual(call.remoteClientId(), bobId)
        let aliceStates = call.states
        let callId = try XCTUnwrap(call.outgoing()?.callId)
        let next = await bobCalls.next()
        let incoming = try XCTUnwrap(next)
        XCTAssertEqual(incoming.id(), callId)
        XCTAssertEqual(incoming.direction(), .incoming)
        XCTAssertEqual(incoming.remoteName(), "Alice Swift")
        XCTAssertEqual(incoming.state(), .ringing)

        let dictionary = try await pushKitDictionary("sw-ext-bob")
        let data = dictionary["data"] as? [String: Any]
        XCTAssertEqual(data?["callId"] as? String, callId)
        XCTAssertEqual(data?["callerId"] as? String, aliceId)
        XCTAssertFalse("\(dictionary)".contains("tok="), "no token in the push")
        // Reported to CallKit by the app all the same; the SDK says it is the same call.
        XCTAssertEqual(try bob.handlePush(dictionary: dictionary), .ignored(reason: .duplicate, callId: callId))

        try await incoming.answer()
        try await eventually("Bob to hear Alice") { bob.detectedRemoteTone(candidatesHz: tones) == 440 }
        try await eventually("Alice to hear Bob") { alice.detectedRemoteTone(candidatesHz: tones) == 880 }
        try await incoming.hangup()
        XCTAssertEqual(incoming.state(), .ended(reason: .localHangup))
        var seen: [CallState] = []
        for await state in aliceStates { seen.append(state) }
        XCTAssertEqual(seen, [.ringing, .connecting, .connected, .ended(reason: .remoteEnded)])
    }

    func testDeclineReachesTheCallerAndBusyAndForeignDeletesAreTyped() async throws {
        let alice = try newClient()
        let bob = try newClient()
        let carol = try newClient()
        _ = try await alice.register(push: PushToken(kind: .fcm, token: "sw-ext2-alice"))
        let bobId = try await bob.register(push: PushToken(kind: .apnsVoip, token: "sw-ext2-bob"))
        _ = try await carol.register(push: PushToken(kind: .fcm, token: "sw-ext2-carol"))
        try await eventually("event channels", seconds: 5) { alice.isEventChannelConnected() && bob.isEventChannelConnected() }
        var bobCalls = bob.incomingCalls.makeAsyncIterator()
        let call = try await alice.placeCall(to: bobId)
        let aliceStates = call.states
        let next = await bobCalls.next()
        let incoming = try XCTUnwrap(next)
        do {
            _ = try await carol.placeCall(to: bobId)
            XCTFail("a call to someone in a call is busy")
        } catch DialtoneError.Busy {}
        try await incoming.decline()
        var last: CallState?
        for await state in aliceStates { last = state }
        XCTAssertEqual(last, .ended(reason: .declined))
        // Too late to answer a declined call: the call is unavailable, and says so.
        do {
            try await incoming.answer()
            XCTFail("answer after decline")
        } catch DialtoneError.CallUnavailable {}
        do {
            _ = try await carol.deleteClientIds(clientIds: [bobId])
            XCTFail("another installation's clientId")
        } catch DialtoneError.Unauthorized {}
    }
}
