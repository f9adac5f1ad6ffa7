// The Swift layer: AsyncStreams that start with the current value and stop the core's
// listener when they finish, handlePush from a PushKit-shaped dictionary, and the
// cancellation rules: a cancelled Task's hangup still ends the call; a cancelled placeCall
// cancels it.
import Foundation
import XCTest
@testable import Dialtone

final class StreamsTests: XCTestCase, @unchecked Sendable {
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
        let call = try await alice.placeCall(to: bobId)
        var iterator = stream.makeAsyncIterator()
        let first = await iterator.next()
        let second = await iterator.next()
        // The client-wide stream names the call; the call's own starts with its state.
        XCTAssertEqual(first, .stateChanged(callId: call.id(), state: .dialing))
        XCTAssertEqual(second, .stateChanged(callId: call.id(), state: .ringing))
        var states = call.states.makeAsyncIterator()
        let current = await states.next()
        XCTAssertEqual(current, .ringing)
        try await alice.endCall()
        XCTAssertEqual(call.state(), .ended(reason: .cancelled))
    }

    func extendedClient() throws -> DialtoneClient {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dialtone-swift-streams-\(UUID().uuidString)")
        return try DialtoneClient(config: BackendConfig.mock(baseUrl: SharedMock.extendedURL, apiKey: nil), dataDir: dir.path)
    }

    /// Places a call, retrying while the backend still holds the last one (up to 5 s).
    func placeWhenFree(_ client: DialtoneClient, _ callee: String) async throws -> Call {
        let deadline = Date().addingTimeInterval(5)
        while true {
            do {
                return try await client.placeCall(to: callee)
            } catch DialtoneError.Busy {
                if Date() > deadline { throw DialtoneError.Busy(detail: "still busy after 5 s") }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
        }
    }

    func testACancelledTasksHangupStillEndsTheCall() async throws {
        let alice = try extendedClient()
        let bob = try extendedClient()
        _ = try await alice.register(push: PushToken(kind: .fcm, token: "sw-cancel-alice"))
        let bobId = try await bob.register(push: PushToken(kind: .apnsVoip, token: "sw-cancel-bob"))
        let call = try await alice.placeCall(to: bobId)
        let states = call.states
        // A SwiftUI task starts the hangup and is cancelled at once.
        let task = Task { try await call.hangup() }
        task.cancel()
        var last: CallState?
        for await state in states { last = state }
        XCTAssertEqual(last, .ended(reason: .cancelled))
        // The backend let the call go: Alice can place another within moments.
        try await placeWhenFree(alice, bobId).hangup()
    }

    func testACancelledPlaceCallCancelsTheCall() async throws {
        let alice = try extendedClient()
        let bob = try extendedClient()
        _ = try await alice.register(push: PushToken(kind: .fcm, token: "sw-cancel2-alice"))
        let bobId = try await bob.register(push: PushToken(kind: .apnsVoip, token: "sw-cancel2-bob"))
        let placing = Task { try await alice.placeCall(to: bobId) }
        try await Task.sleep(nanoseconds: 5_000_000)
        placing.cancel()
        switch await placing.result {
        case .success(let call):
            // It was placed before the cancel landed: it must still be cancellable.
            try await call.hangup()
        case .failure(let error):
            guard case DialtoneError.Cancelled = error else { return XCTFail("got \(error)") }
        }
        let deadline = Date().addingTimeInterval(5)
        while alice.activeCall() != nil && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        XCTAssertNil(alice.activeCall())
        // Nothing was left behind at the backend: the next call goes through.
        try await placeWhenFree(alice, bobId).hangup()
    }
}
