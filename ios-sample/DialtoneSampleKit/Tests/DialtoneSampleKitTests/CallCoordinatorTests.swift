// The iOS sample's call logic on Linux against the mock's extended profile: every VoIP push
// is reported to "CallKit" at once (duplicates, stale and malformed ones too, under a fresh
// UUID, ended at once), answer joins, audio starts only on audio-session activation and
// crosses the SDK's PCM interface both ways, and hangup reports the end on the other side.
import Foundation
import XCTest
import Dialtone
@testable import DialtoneSampleKit

final class CallCoordinatorTests: XCTestCase, @unchecked Sendable {
    func testAVoIPPushIsReportedAtOnceAndAnsweredWithAudioBothWays() async throws {
        let aliceClient = try SampleMock.client()
        let bobClient = try SampleMock.client()
        let aliceModel = AppModel(client: aliceClient)
        let bobModel = AppModel(client: bobClient)
        XCTAssertEqual(aliceModel.screen, .signIn)
        let ok1 = await aliceModel.signIn(firstName: "Alice", lastName: "Kit", voipToken: "kit-alice")
        let ok2 = await bobModel.signIn(firstName: "Bob", lastName: "Kit", voipToken: "kit-bob")
        XCTAssertTrue(ok1 && ok2)
        let bobId = try bobClient.clientId()
        try await eventually("Alice's list to show Bob") {
            if case .people(_, let others) = aliceModel.screen { return others.contains { $0.clientId == bobId } }
            return false
        }
        guard case .people(_, let others) = aliceModel.screen, let bob = others.first(where: { $0.clientId == bobId }) else {
            return XCTFail("no Bob")
        }
        try await eventually("event channels", seconds: 5) { aliceClient.isEventChannelConnected() && bobClient.isEventChannelConnected() }

        let aliceKit = RecordingReporter()
        let bobKit = RecordingReporter()
        let aliceAudio = ToneAudioUnit(hz: 440)
        let bobAudio = ToneAudioUnit(hz: 880)
        let alice = CallCoordinator(client: aliceClient, reporter: aliceKit, audio: aliceAudio)
        let bobSide = CallCoordinator(client: bobClient, reporter: bobKit, audio: bobAudio)

        let outgoing = UUID()
        try await alice.start(uuid: outgoing, callee: bob)
        try alice.audioSessionActivated()
        try await eventually("Bob's phone to ring", seconds: 5) { if case .ringing = bobSide.phase { return true }; return false }
        guard case .ringing(let invite) = bobSide.phase, let uuid = UUID(uuidString: invite.callId) else { return XCTFail("not ringing") }
        XCTAssertEqual(invite.callerName, "Alice Kit")

        // The VoIP push for the same call: reported to CallKit before the callback returns,
        // under a stand-in UUID that is ended at once; the ringing call is untouched.
        let push = try await SampleMock.pushKitDictionary("kit-bob")
        let done = expectation(description: "PushKit completion")
        bobSide.handleVoIPPush(push) { done.fulfill() }
        await fulfillment(of: [done], timeout: 1)
        let reports = bobKit.entries
        XCTAssertEqual(reports.first, "incoming \(invite.callId)")
        XCTAssertEqual(reports.count, 3, "\(reports)")
        XCTAssertTrue(reports[2].hasSuffix("answeredElsewhere") && !reports[2].contains(invite.callId), "\(reports)")
        if case .ringing = bobSide.phase {} else { XCTFail("the real call still rings") }

        try await bobSide.answer(uuid: uuid)
        XCTAssertEqual(bobAudio.starts, 0, "no audio before CallKit activates the session")
        try bobSide.audioSessionActivated()
        try await eventually("both active") {
            if case .active = alice.phase, case .active = bobSide.phase { return true }
            return false
        }
        XCTAssertEqual(aliceKit.entries, ["connecting", "connected"])
        try await eventually("Alice to hear 880 Hz") { aliceAudio.playedShare(880) > 0.5 }
        try await eventually("Bob to hear 440 Hz") { bobAudio.playedShare(440) > 0.5 }
        XCTAssertLessThan(aliceAudio.playedShare(440), 0.2, "no echo of our own tone")

        await bobSide.end(uuid: uuid)
        try await eventually("Alice's CallKit to hear the end", seconds: 5) { aliceKit.entries.last == "ended \(outgoing.uuidString.lowercased()) remoteEnded" }
        XCTAssertEqual(alice.phase, .ended(.remoteEnded))
        XCTAssertFalse(aliceAudio.isRunning)
        XCTAssertFalse(bobAudio.isRunning)
    }

    func testStaleMalformedAndForeignPushesAreReportedAndEndedAtOnce() async throws {
        let client = try SampleMock.client()
        _ = try await client.register(push: PushToken(kind: .apnsVoip, token: "kit-carol"))
        let kit = RecordingReporter()
        let coordinator = CallCoordinator(client: client, reporter: kit, audio: ToneAudioUnit(hz: 660))
        let stale: [AnyHashable: Any] = [
            "aps": ["alert": ["title": "Incoming Call", "body": "Old Caller is calling you"]],
            "data": ["callId": UUID().uuidString.lowercased(), "callerId": "x",
                     "sentAt": String(Int64(Date().timeIntervalSince1970 * 1000) - 120_000)],
        ]
        let promo: [AnyHashable: Any] = ["aps": ["alert": "50% off"]]
        let oversized: [AnyHashable: Any] = ["data": ["x": String(repeating: "y", count: 6000)]]
        for (push, reason) in [(stale, "unanswered"), (promo, "failed"), (oversized, "failed")] {
            let before = kit.entries.count
            let done = expectation(description: "completion")
            coordinator.handleVoIPPush(push) { done.fulfill() }
            await fulfillment(of: [done], timeout: 1)
            let new = Array(kit.entries.dropFirst(before))
            XCTAssertEqual(new.count, 2, "\(new)")
            XCTAssertTrue(new[0].hasPrefix("incoming ") && new[1].hasSuffix(reason), "\(new)")
        }
        XCTAssertEqual(coordinator.phase, .idle)
    }

    func testSettingsBuildConfigurations() throws {
        let real = BackendSettings.real(restURL: "https://a.example/api",
                                        graphqlURL: "https://b.appsync-api.x.amazonaws.com/graphql",
                                        graphqlAPIKey: "da2-key")
        XCTAssertEqual(try real.config().realtimeUrl(), "wss://b.appsync-realtime-api.x.amazonaws.com/graphql")
        XCTAssertEqual(try BackendSettings.simulatorMock.config().restUrl(), "http://127.0.0.1:8080/api")
        XCTAssertThrowsError(try BackendSettings.mock(baseURL: "not a url").config())
        let data = try JSONEncoder().encode(real)
        XCTAssertEqual(try JSONDecoder().decode(BackendSettings.self, from: data), real)
    }
}
