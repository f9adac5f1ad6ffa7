// The Swift layer: AsyncStreams that start with the current value and stop the core's
// listener when they finish, and handlePush from a PushKit-shaped dictionary.
import Foundation
import XCTest
@testable import Dialtone

final class StreamsTests: XCTestCase {
    func newClient() throws -> DialtoneClient {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dialtone-swift-streams-\(UUID().uuidString)")
        return try DialtoneClient(config: BackendConfig.mock(baseUrl: SharedMock.baseURL, apiKey: nil), dataDir: dir.path)
    }

    func testPersonsStreamStartsWithTheCurrentListAndFollowsChanges() async throws {
        let alice = try newClient()
        let bob = try newClient()
        _ = try await alice.register(push: PushToken(kind: .fcm, token: "sw-stream-alice"))
        let bobId = try await bob.register(push: PushToken(kind: .fcm, token: "sw-stream-bob"))
        _ = try await alice.saveProfile(firstName: "Alice", lastName: "Stream")
        _ = try await alice.syncPersons()
        var iterator = alice.personsStream.makeAsyncIterator()
        let first = await iterator.next()
        XCTAssertTrue(first?.contains { $0.firstName == "Alice" && $0.isSelf } ?? false)
        _ = try await bob.saveProfile(firstName: "Bob", lastName: "Stream")
        var sawBob = false
        while let list = await iterator.next() {
            if list.contains(where: { $0.clientId == bobId && $0.firstName == "Bob" }) { sawBob = true; break }
        }
        XCTAssertTrue(sawBob)
    }

    func testCallEventStreamAndDictionaryPush() async throws {
        let alice = try newClient()
        let bob = try newClient()
        _ = try await alice.register(push: PushToken(kind: .fcm, token: "sw-stream2-alice"))
        let bobId = try await bob.register(push: PushToken(kind: .apnsVoip, token: "sw-stream2-bob"))
        let promo: [AnyHashable: Any] = ["aps": ["alert": "Sale"]]
        XCTAssertEqual(try bob.handlePush(dictionary: promo), .ignored(reason: .notACallPush, callId: nil))
        let stream = alice.callEventStream
        _ = try await alice.startCall(calleeClientId: bobId)
        var iterator = stream.makeAsyncIterator()
        let first = await iterator.next()
        XCTAssertEqual(first, .connecting)
        try await alice.endCall()
    }
}
