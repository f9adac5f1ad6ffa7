// Rooms from Swift, through DialtoneTesting as an app developer uses it: three phones in a
// room hear each other; the member list (an AsyncStream) and the events name who comes and
// goes; the seed backend has no rooms (a typed error).
import XCTest
import Dialtone
import DialtoneTesting

final class RoomsTests: XCTestCase, @unchecked Sendable {
    func testThreePhonesInARoomHearEachOtherAndSeeWhoLeaves() async throws {
        let mock = SharedMock.extended
        let ada = try await mock.phone(firstName: "Ada")
        let bob = try await mock.phone(firstName: "Bob")
        let cy = try await mock.phone(firstName: "Cy")
        let r = try await mock.room(ada, bob, cy)
        let adaRoom = r.rooms[0], cyRoom = r.rooms[2]
        XCTAssertEqual(adaRoom.state(), .joined)
        var lists = adaRoom.memberLists.makeAsyncIterator()
        let members = await lists.next() ?? []
        XCTAssertEqual(members.map(\.isLocal), [true, false, false])
        XCTAssertEqual(members.map(\.clientId), [ada.clientId, bob.clientId, cy.clientId])
        XCTAssertEqual(members[1].name, "Bob Phone")
        let cyId = cyRoom.members().first { $0.isLocal }!.participantId

        var events = adaRoom.events.makeAsyncIterator()
        guard case .snapshot = await events.next() else { return XCTFail("a snapshot first") }
        try await cyRoom.leave()
        try await cyRoom.leave() // idempotent
        var left: (String, MemberLeftReason)?
        while let e = await events.next() {
            if case .memberLeft(let member, let reason) = e { left = (member.participantId, reason); break }
        }
        XCTAssertEqual(left?.0, cyId)
        XCTAssertEqual(left?.1, .left)
        try await r.leave()
        var last: RoomEvent?
        while let e = await events.next() { last = e }
        guard case .stateChanged(.left) = last else { return XCTFail("the stream ends with left: \(String(describing: last))") }
    }

    func testAMemberRingsAPhoneWhichAnswersIntoTheRoom() async throws {
        let mock = SharedMock.extended
        let ada = try await mock.phone(firstName: "Ada")
        let bob = try await mock.phone(firstName: "Bob")
        let room = try await ada.client.createRoom()
        var events = room.events.makeAsyncIterator()
        guard case .snapshot = await events.next() else { return XCTFail("a snapshot first") }
        var incoming = bob.client.incomingCalls.makeAsyncIterator()
        try await awaitTrue("Bob's event channel") { bob.client.isEventChannelConnected() }
        let invites = try await room.ring(clientIds: [bob.clientId])
        XCTAssertEqual(invites.map(\.clientId), [bob.clientId])
        guard let call = await incoming.next() else { return XCTFail("Bob's phone rings") }
        XCTAssertEqual(call.roomId(), room.id())
        // Answering the invite (as CallKit's answer action would) enters the room.
        try await call.answer()
        let bobRoom = try XCTUnwrap(bob.client.activeRoom())
        XCTAssertEqual(bobRoom.id(), room.id())
        var joined = false
        while let e = await events.next() {
            if case .inviteChanged(let client, _, .joined) = e, client == bob.clientId { joined = true; break }
        }
        XCTAssertTrue(joined)
        try await bobRoom.leave()
        try await room.leave()
    }

    func testTheSeedBackendHasNoRooms() async throws {
        let sam = try await SharedMock.seed.phone(firstName: "Sam")
        do {
            _ = try await sam.client.createRoom()
            XCTFail("the seed has no rooms")
        } catch DialtoneError.RoomsUnavailable(let detail) {
            XCTAssertTrue(detail.contains("rooms"), detail)
        }
    }
}
