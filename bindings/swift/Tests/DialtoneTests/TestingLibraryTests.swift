// DialtoneTesting as an app developer uses it: phones registered with the mock, a call with
// tones placed and answered through pushes, on both profiles; failures are clear errors.
import XCTest
import Dialtone
import DialtoneTesting

final class TestingLibraryTests: XCTestCase, @unchecked Sendable {
    private func placeAndHangUp(_ mock: DialtoneMock) async throws {
        let ada = try await mock.phone(firstName: "Ada", lastName: "Caller")
        let bob = try await mock.phone(firstName: "Bob", lastName: "Callee")
        let call = try await mock.callWithTones(from: ada, to: bob)
        XCTAssertEqual(call.caller.state(), .connected)
        XCTAssertEqual(call.caller.remoteClientId(), bob.clientId)
        try await call.hangup()
        guard case .ended = call.caller.state(), case .ended = call.callee.state() else {
            return XCTFail("both sides should have ended")
        }
    }

    func testAToneCallOnTheSeedProfile() async throws {
        try await placeAndHangUp(SharedMock.seed)
    }

    func testAToneCallOnTheExtendedProfile() async throws {
        try await placeAndHangUp(SharedMock.extended)
    }

    func testNoPushIsNilAndABadBinaryIsAClearError() async throws {
        let none = try await SharedMock.extended.nextPush(deviceToken: "nobody-\(UUID().uuidString)", waitMs: 0)
        XCTAssertNil(none)
        XCTAssertThrowsError(try DialtoneMock.start(binary: "/nonexistent/dialtone-mock")) { error in
            XCTAssertTrue("\(error)".contains("cannot run"), "\(error)")
        }
    }
}
