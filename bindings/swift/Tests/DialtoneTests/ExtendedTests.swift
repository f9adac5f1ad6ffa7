// The incoming path from Swift against the mock's extended profile: the PushKit dictionary
// (call id, caller, sentAt, and no token), the same call announced on the event channel and
// read from callEventStream, answer with audio both ways, the caller told the callee
// declined, busy, and another installation's clientIds refused.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
@testable import Dialtone

final class ExtendedTests: XCTestCase {
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

    /// The first event of `stream` that `pick` accepts, within `seconds`.
    func first<T: Sendable>(_ stream: AsyncStream<CallEvent>, seconds: Double = 10, _ pick: @escaping @Sendable (CallEvent) -> T?) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                for await event in stream { if let hit = pick(event) { return hit } }
                return nil
            }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                return nil
            }
            let result = try await group.next() ?? nil
            group.cancelAll()
            guard let result else { throw NSError(domain: "no matching call event in \(seconds) s", code: 2) }
            return result
        }
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

        let bobEvents = bob.callEventStream
        let aliceEvents = alice.callEventStream
        let call = try await alice.startCall(calleeClientId: bobId)
        XCTAssertNotNil(call.callId)
        let invite = try await first(bobEvents) { if case .incoming(let invite) = $0 { return invite } else { return nil } }
        XCTAssertEqual(invite.callId, call.callId)
        XCTAssertEqual(invite.callerName, "Alice Swift")

        let dictionary = try await pushKitDictionary("sw-ext-bob")
        let data = dictionary["data"] as? [String: Any]
        XCTAssertEqual(data?["callId"] as? String, call.callId)
        XCTAssertEqual(data?["callerId"] as? String, aliceId)
        XCTAssertFalse("\(dictionary)".contains("tok="), "no token in the push")
        // Reported to CallKit by the app all the same; the SDK says it is the same call.
        XCTAssertEqual(try bob.handlePush(dictionary: dictionary), .ignored(reason: .duplicate, callId: invite.callId))

        try await bob.answer(callId: invite.callId)
        try await eventually("Bob to hear Alice") { bob.detectedRemoteTone(candidatesHz: tones) == 440 }
        try await eventually("Alice to hear Bob") { alice.detectedRemoteTone(candidatesHz: tones) == 880 }
        try await bob.endCall()
        let reason = try await first(aliceEvents) { if case .ended(let r) = $0 { return r } else { return nil } }
        XCTAssertEqual(reason, .remoteEnded)
        try await alice.endCall()
    }

    func testDeclineReachesTheCallerAndBusyAndForeignDeletesAreTyped() async throws {
        let alice = try newClient()
        let bob = try newClient()
        let carol = try newClient()
        _ = try await alice.register(push: PushToken(kind: .fcm, token: "sw-ext2-alice"))
        let bobId = try await bob.register(push: PushToken(kind: .apnsVoip, token: "sw-ext2-bob"))
        _ = try await carol.register(push: PushToken(kind: .fcm, token: "sw-ext2-carol"))
        try await eventually("event channels", seconds: 5) { alice.isEventChannelConnected() && bob.isEventChannelConnected() }
        let aliceEvents = alice.callEventStream
        let bobEvents = bob.callEventStream
        let call = try await alice.startCall(calleeClientId: bobId)
        _ = try await first(bobEvents) { if case .incoming(let invite) = $0 { return invite } else { return nil } }
        do {
            _ = try await carol.startCall(calleeClientId: bobId)
            XCTFail("a call to someone in a call is busy")
        } catch DialtoneError.Busy {}
        try await bob.decline(callId: call.callId!)
        let reason = try await first(aliceEvents) { if case .ended(let r) = $0 { return r } else { return nil } }
        XCTAssertEqual(reason, .declined)
        do {
            _ = try await carol.deleteClientIds(clientIds: [bobId])
            XCTFail("another installation's clientId")
        } catch DialtoneError.Unauthorized {}
    }
}
