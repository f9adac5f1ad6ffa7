// The foundation scenario from Swift, through the real generated bindings and the host
// library: two phones register, save profiles, see each other, call, find the push in the
// mock's outbox, hang up; and an unknown clientId is a typed Swift error.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
@testable import Dialtone

final class PersonsRecorder: PersonsListener, @unchecked Sendable {
    private let lock = NSLock()
    private var lists: [[Person]] = []
    func onPersonsChanged(persons: [Person]) {
        lock.lock(); lists.append(persons); lock.unlock()
    }
    var first: [Person]? { lock.lock(); defer { lock.unlock() }; return lists.first }
}

final class FoundationTests: XCTestCase, @unchecked Sendable {
    func newClient() throws -> DialtoneClient {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dialtone-swift-\(UUID().uuidString)")
        return try DialtoneClient(config: BackendConfig.mock(baseUrl: SharedMock.baseURL, apiKey: nil), dataDir: dir.path)
    }

    func pushes(for deviceToken: String) async throws -> String {
        let url = URL(string: "\(SharedMock.baseURL)/mock/pushes?deviceToken=\(deviceToken)&waitMs=2000")!
        return try await withCheckedThrowingContinuation { cont in
            URLSession.shared.dataTask(with: url) { data, _, error in
                if let error { cont.resume(throwing: error) } else { cont.resume(returning: String(decoding: data ?? Data(), as: UTF8.self)) }
            }.resume()
        }
    }

    func testTwoPhonesRegisterSeeEachOtherCallAndHangUp() async throws {
        let alice = try newClient()
        let bob = try newClient()
        let aliceId = try await alice.register(push: PushToken(kind: .fcm, token: "sw-alice"))
        let bobId = try await bob.register(push: PushToken(kind: .apnsVoip, token: "sw-bob-voip"))
        XCTAssertNotEqual(aliceId, bobId)
        let again = try await alice.register(push: PushToken(kind: .fcm, token: "sw-alice"))
        XCTAssertEqual(aliceId, again)

        _ = try await alice.saveProfile(firstName: "Alice", lastName: "Swift")
        _ = try await bob.saveProfile(firstName: "Bob", lastName: "Swift")
        let seenByAlice = try await alice.syncPersons()
        let seenByBob = try await bob.syncPersons()
        XCTAssertTrue(seenByAlice.contains { $0.clientId == bobId && $0.firstName == "Bob" && !$0.isSelf })
        XCTAssertTrue(seenByAlice.contains { $0.clientId == aliceId && $0.isSelf })
        XCTAssertTrue(seenByBob.contains { $0.clientId == aliceId })

        let recorder = PersonsRecorder()
        let handle = alice.observePersons(listener: recorder)
        for _ in 0..<150 where recorder.first == nil { try await Task.sleep(nanoseconds: 20_000_000) }
        XCTAssertGreaterThanOrEqual(recorder.first?.count ?? 0, 2)
        handle.cancel()
        XCTAssertTrue(handle.isFinished())

        let placed = try await alice.startCall(calleeClientId: bobId)
        let call = try XCTUnwrap(placed.outgoing())
        XCTAssertTrue(call.participantToken.hasPrefix("eyJ"))
        XCTAssertEqual(call.calleeClientId, bobId)
        let push = try await pushes(for: "sw-bob-voip")
        XCTAssertTrue(push.contains("Alice Swift is calling you"), push)
        XCTAssertTrue(push.contains("incomingCall?tok=eyJ"), push)

        do {
            _ = try await bob.startCall(calleeClientId: aliceId)
            XCTFail("a call to a phone in a call must be busy")
        } catch DialtoneError.Busy(let detail) {
            XCTAssertTrue(detail.contains("already in a session"))
        }
        try await alice.endCall()
        try await bob.endCall()
    }

    func testUnknownClientIdIsATypedBackendError() async throws {
        let client = try newClient()
        _ = try await client.register(push: PushToken(kind: .fcm, token: "sw-lonely"))
        do {
            _ = try await client.startCall(calleeClientId: "no-such-client")
            XCTFail("an unknown callee must fail")
        } catch DialtoneError.Backend(let status, let detail) {
            XCTAssertEqual(status, 500)
            XCTAssertTrue(detail.contains("no-such-client"))
        }
    }

    func testNotRegisteredAndInvalidInputAreTyped() async throws {
        // A release version, the workspace's (x.y.z).
        XCTAssertNotNil(sdkVersion().range(of: #"^\d+\.\d+\.\d+"#, options: .regularExpression))
        let client = try newClient()
        do {
            _ = try await client.startCall(calleeClientId: "x")
            XCTFail("must require registration")
        } catch DialtoneError.NotRegistered {}
        XCTAssertThrowsError(try BackendConfig.mock(baseUrl: "not a url", apiKey: nil)) { error in
            guard case DialtoneError.InvalidInput = error else { return XCTFail("got \(error)") }
        }
    }
}
