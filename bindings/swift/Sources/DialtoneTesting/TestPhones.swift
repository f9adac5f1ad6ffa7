// Phones for an app's tests: a registered client of the mock, and a real call between two of
// them whose sides send tones and hear each other (Opus, the mock's v3 gateway and SFU, the
// core's tone detector), placed the way a phone does it: startCall on one side, the push
// handed to handlePush on the other, then answer.
import Foundation
import Dialtone

/// A registered client of the mock; `pushToken` is the FCM token it registered with.
public struct TestPhone: Sendable {
    public let client: DialtoneClient
    public let clientId: String
    public let pushToken: String
}

/// An established call between two test phones, each sending its tone.
public struct ToneCall: Sendable {
    public let caller: Call
    public let callee: Call
    public let callerHz: Float
    public let calleeHz: Float

    /// Hangs both sides up (each returns once its release is done).
    public func hangup() async throws {
        try await caller.hangup()
        try await callee.hangup()
    }
}

/// The tones a ToneCall uses unless told otherwise.
public let defaultTones: [Float] = [440, 880]

/// A failed expectation of the helpers: what did not happen in time.
public struct TestPhoneError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension DialtoneMock {
    /// A new client of this mock, registered with an FCM token of its own and a Person name.
    public func phone(firstName: String = "Test", lastName: String = "Phone") async throws -> TestPhone {
        let client = try newClient()
        let token = "test-\(UUID().uuidString)"
        let id = try await client.register(push: PushToken(kind: .fcm, token: token))
        _ = try await client.saveProfile(firstName: firstName, lastName: lastName)
        return TestPhone(client: client, clientId: id, pushToken: token)
    }

    /// Places a call from `caller` to `callee`, answers it on the callee with the push it
    /// received, and returns once each side hears the other's tone.
    public func callWithTones(
        from caller: TestPhone, to callee: TestPhone,
        callerHz: Float = defaultTones[0], calleeHz: Float = defaultTones[1],
        timeout: TimeInterval = 20
    ) async throws -> ToneCall {
        caller.client.setAudioSource(source: .tone(frequencyHz: callerHz))
        callee.client.setAudioSource(source: .tone(frequencyHz: calleeHz))
        let placed = try await caller.client.startCall(calleeClientId: callee.clientId)
        do {
            guard let push = try await nextPush(deviceToken: callee.pushToken, waitMs: Int(timeout * 1000)) else {
                throw TestPhoneError(description: "the callee received no push within \(timeout) s")
            }
            let callId: String
            switch try callee.client.handlePush(payload: push) {
            case .invite(let invite): callId = invite.callId
            // The event channel announced the call first: the push is its duplicate.
            case .ignored(let reason, let id):
                guard let id else { throw TestPhoneError(description: "the callee ignored the push: \(reason)") }
                callId = id
            }
            guard let incoming = callee.client.call(callId: callId) else {
                throw TestPhoneError(description: "the callee has no call \(callId)")
            }
            try await incoming.answer()
            let tones = [callerHz, calleeHz]
            try await awaitTrue("the callee to hear \(callerHz) Hz", timeout: timeout) {
                callee.client.detectedRemoteTone(candidatesHz: tones) == callerHz
            }
            try await awaitTrue("the caller to hear \(calleeHz) Hz", timeout: timeout) {
                caller.client.detectedRemoteTone(candidatesHz: tones) == calleeHz
            }
            return ToneCall(caller: placed, callee: incoming, callerHz: callerHz, calleeHz: calleeHz)
        } catch {
            try? await placed.hangup()
            throw error
        }
    }
}

/// A room of test phones, each sending its own tone.
public struct ToneRoom: Sendable {
    public let phones: [TestPhone]
    public let rooms: [Room]
    public let tones: [Float]

    /// Every phone leaves (each returns once its leave is done).
    public func leave() async throws {
        for room in rooms { try await room.leave() }
    }
}

/// Four tones 300–1900 Hz, 60 Hz or more apart, off each other's 2nd and 3rd harmonics.
public let roomTones: [Float] = [350, 530, 770, 1130]

extension DialtoneMock {
    /// The first phone creates a room (extended profile) and the others enter it, each
    /// sending its tone; returns once every phone hears every other tone and never its own.
    public func room(_ phones: TestPhone..., tones: [Float] = roomTones, timeout: TimeInterval = 20) async throws -> ToneRoom {
        guard !phones.isEmpty, phones.count <= tones.count else {
            throw TestPhoneError(description: "give 1 to \(tones.count) phones")
        }
        var rooms: [Room] = []
        do {
            for (i, p) in phones.enumerated() {
                p.client.setAudioSource(source: .tone(frequencyHz: tones[i]))
                rooms.append(i == 0 ? try await p.client.createRoom() : try await p.client.enterRoom(roomId: rooms[0].id()))
            }
            let used = Array(tones.prefix(phones.count))
            for (i, p) in phones.enumerated() {
                let others = used.enumerated().filter { $0.offset != i }.map { $0.element }
                try await awaitTrue("phone \(i) to hear \(others)", timeout: timeout) {
                    p.client.heardRemoteTones(candidatesHz: used) == others
                }
            }
            return ToneRoom(phones: phones, rooms: rooms, tones: used)
        } catch {
            for room in rooms { try? await room.leave() }
            throw error
        }
    }
}

/// Polls `check` every 20 ms until it holds; throws naming `what` after `timeout` seconds.
public func awaitTrue(_ what: String, timeout: TimeInterval = 15, _ check: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !check() {
        if Date() > deadline { throw TestPhoneError(description: "timed out after \(timeout) s waiting for \(what)") }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
}
