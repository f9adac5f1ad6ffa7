// The sample's call logic, free of Apple frameworks. It implements the platform rules:
//   - every VoIP push is reported to CallKit at once, from inside the PushKit callback,
//     before any network I/O (`handlePush` is synchronous and local);
//   - a push that is a duplicate, stale, or not understood is still reported, under a
//     fresh UUID, and ended at once, so the live call with the real UUID is never touched;
//   - audio starts only when CallKit activates the audio session, and stops when it
//     deactivates it.
// CallKit's actions (answer, end, start) come in through `answer`, `end`, `start`; the
// SDK's incoming calls and each call's state changes go out to the `CallReporter`
// (CXProvider in the app, a fake in tests). The SDK completes answer / decline / hangup
// even if the Task awaiting them is cancelled.
import Foundation
import Dialtone

/// CXCallEndedReason's cases.
public enum CallEndedReason: String, Sendable {
    case failed, remoteEnded, unanswered, answeredElsewhere, declinedElsewhere
}

/// What CallKit is told. In the app: CXProvider's report… methods.
public protocol CallReporter: AnyObject, Sendable {
    /// `reportNewIncomingCall(with:update:completion:)`; `completion` ends the PushKit callback.
    func reportIncoming(uuid: UUID, handle: String, callerName: String?, completion: @escaping @Sendable (Error?) -> Void)
    /// `reportCall(with:endedAt:reason:)`.
    func reportEnded(uuid: UUID, reason: CallEndedReason)
    /// `reportOutgoingCall(with:startedConnectingAt:)`.
    func reportOutgoingConnecting(uuid: UUID)
    /// `reportOutgoingCall(with:connectedAt:)`.
    func reportOutgoingConnected(uuid: UUID)
}

/// The audio unit the app runs (AVAudioEngine); started by CallKit's audio-session activation.
public protocol AudioUnit: AnyObject, Sendable {
    func start(bridge: AudioBridge) throws
    func stop()
}

public enum CallPhase: Equatable, Sendable {
    case idle
    case ringing(IncomingInvite)
    case dialing(Person, calleeRinging: Bool)
    case active(peer: String, muted: Bool)
    case ended(CallEndReason?)
}

/// Thread safety: every mutable field lives in `State`, and every read-modify-write of it is
/// one `update` under `lock` (no check-then-act across two lock sections). Observers are told
/// outside the lock, each change stamped with a version, and a stale one is never delivered
/// after a newer one, so the last phase an observer sees is the coordinator's. That is what
/// the `@unchecked Sendable` below claims, and all it claims.
public final class CallCoordinator: @unchecked Sendable {
    private struct State {
        var phase: CallPhase = .idle
        var version = 0
        var current: UUID?
        /// The SDK's id of the current call (a placed call's differs from its CallKit UUID).
        var currentCallId: String?
        var peer = ""
        var outgoing = false
        var reported = Set<UUID>()
        var observers: [UUID: @Sendable (CallPhase) -> Void] = [:]
    }

    private let client: DialtoneClient
    private let reporter: CallReporter
    private let audio: AudioUnit
    private let lock = NSLock()
    private var store = State()
    /// Serialises deliveries to observers; `delivered` is the newest version handed out.
    private let delivery = NSLock()
    private var delivered = 0
    private var subscription: TaskHandle?
    private var incoming: TaskHandle?

    public init(client: DialtoneClient, reporter: CallReporter, audio: AudioUnit) {
        self.client = client
        self.reporter = reporter
        self.audio = audio
        // Subscribed synchronously, so nothing of a call placed or pushed next is missed.
        subscription = try? client.observeCall(listener: Forwarder { [weak self] in self?.on($0) })
        incoming = try? client.observeIncomingCalls(listener: IncomingForwarder { [weak self] call in
            guard let uuid = UUID(uuidString: call.id()), call.state() == .ringing else { return }
            self?.ring(Self.invite(of: call), uuid: uuid)
        })
    }

    /// The handle of a stand-in call (a push that is not a live call, reported and ended at
    /// once): the app reports those through a provider that keeps them out of Recents.
    public static let standInHandle = "dialtone-stand-in"

    deinit {
        subscription?.cancel()
        incoming?.cancel()
    }

    static func invite(of call: Call) -> IncomingInvite {
        IncomingInvite(
            callId: call.id(),
            callerName: call.remoteName(),
            handle: call.remoteClientId() ?? call.remoteName() ?? "Unknown",
            receivedAtMs: Int64(Date().timeIntervalSince1970 * 1000),
            roomId: call.roomId(),
            memberCount: nil
        )
    }

    public var phase: CallPhase { lock.sync { store.phase } }

    /// Calls `observer` with every new phase until the returned token is passed to `stopObserving`.
    public func observe(_ observer: @escaping @Sendable (CallPhase) -> Void) -> UUID {
        let id = UUID()
        lock.sync { store.observers[id] = observer }
        return id
    }

    public func stopObserving(_ id: UUID) { lock.sync { _ = store.observers.removeValue(forKey: id) } }

    /// One atomic step: `body` reads and changes the state under the lock; if the phase
    /// changed, observers hear the new one afterwards.
    @discardableResult
    private func update<T>(_ body: (inout State) -> T) -> T {
        let (result, change) = lock.sync { () -> (T, (Int, CallPhase, [@Sendable (CallPhase) -> Void])?) in
            let before = store.phase
            let result = body(&store)
            guard store.phase != before else { return (result, nil) }
            store.version += 1
            return (result, (store.version, store.phase, Array(store.observers.values)))
        }
        if let (version, phase, targets) = change {
            delivery.sync {
                guard version > delivered else { return }
                delivered = version
                targets.forEach { $0(phase) }
            }
        }
        return result
    }

    private func set(_ phase: CallPhase) {
        update { $0.phase = phase }
    }

    // MARK: PushKit

    /// `pushRegistry(_:didReceiveIncomingPushWith:for:completion:)`: reports to CallKit before
    /// returning, whatever the push holds. `completion` is PushKit's.
    public func handleVoIPPush(_ dictionary: [AnyHashable: Any], completion: @escaping @Sendable () -> Void) {
        let outcome = try? client.handlePush(dictionary: dictionary)
        if case .invite(let invite)? = outcome, let uuid = UUID(uuidString: invite.callId) {
            ring(invite, uuid: uuid, completion: completion)
            return
        }
        // Duplicate, stale, not a call, or malformed: iOS still requires a report. A fresh
        // UUID keeps the real call (if one rings) untouched; the stand-in ends at once.
        let standIn = UUID()
        let reason: CallEndedReason
        switch outcome {
        case .ignored(.duplicate, _)?: reason = .answeredElsewhere
        case .ignored(.expired, _)?: reason = .unanswered
        default: reason = .failed
        }
        reporter.reportIncoming(uuid: standIn, handle: Self.standInHandle, callerName: nil) { [reporter] _ in
            reporter.reportEnded(uuid: standIn, reason: reason)
            completion()
        }
    }

    private func ring(_ invite: IncomingInvite, uuid: UUID, completion: (@Sendable () -> Void)? = nil) {
        let fresh = update { s -> Bool in
            if s.reported.contains(uuid) { return false }
            s.reported.insert(uuid)
            if s.current == nil {
                s.current = uuid
                s.currentCallId = invite.callId
                s.peer = invite.callerName ?? invite.handle
                s.outgoing = false
                s.phase = .ringing(invite)
            }
            return true
        }
        guard fresh else { completion?(); return }
        reporter.reportIncoming(uuid: uuid, handle: invite.handle, callerName: invite.callerName) { _ in completion?() }
    }

    // MARK: CallKit actions

    /// CXAnswerCallAction: joins the call. Audio waits for `audioSessionActivated`.
    public func answer(uuid: UUID) async throws {
        _ = try await client.answer(callId: uuid.uuidString.lowercased())
    }

    /// CXEndCallAction: declines a ringing call, or hangs up.
    public func end(uuid: UUID) async {
        let ringing = lock.sync { () -> Bool in
            if case .ringing(let invite) = store.phase { return invite.callId == uuid.uuidString.lowercased() }
            return false
        }
        if ringing {
            try? await client.decline(callId: uuid.uuidString.lowercased())
        } else {
            try? await client.endCall()
        }
        finish(uuid, reason: .localHangup, tellCallKit: false)
    }

    /// CXStartCallAction (after the app asked CXCallController for it).
    public func start(uuid: UUID, callee: Person) async throws {
        update { s in
            s.current = uuid
            s.currentCallId = nil
            s.peer = "\(callee.firstName) \(callee.lastName)"
            s.outgoing = true
            s.phase = .dialing(callee, calleeRinging: false)
        }
        reporter.reportOutgoingConnecting(uuid: uuid)
        do {
            // Cancelling the Task (CallKit's action timed out) cancels the call too.
            let call = try await client.placeCall(to: callee.clientId)
            lock.sync { if store.current == uuid { store.currentCallId = call.id() } }
            // What happened before the id was known is rendered from the call's state now.
            render(call.state(), uuid: uuid)
        } catch {
            var reason = CallEndReason.failed
            if case .Busy? = error as? DialtoneError { reason = .busy }
            finish(uuid, reason: reason, tellCallKit: true)
            throw error
        }
    }

    /// CXSetMutedCallAction.
    public func setMuted(_ muted: Bool) {
        client.setMuted(muted: muted)
        update { s in
            if case .active(let p, _) = s.phase { s.phase = .active(peer: p, muted: muted) }
        }
    }

    /// `providerDidReset(_:)`: CallKit dropped every call. Hang ours up (the SDK tells the
    /// backend) without reporting anything back to the provider that was reset.
    public func reset() async {
        let uuid = lock.sync { store.current }
        try? await client.endCall()
        if let uuid { finish(uuid, reason: .localHangup, tellCallKit: false) }
        audio.stop()
    }

    /// `provider(_:didActivate:)`: only now may audio run.
    public func audioSessionActivated() throws {
        try audio.start(bridge: AudioBridge(client: client))
    }

    /// `provider(_:didDeactivate:)`.
    public func audioSessionDeactivated() {
        audio.stop()
    }

    // MARK: SDK events

    private func on(_ event: CallEvent) {
        guard case .stateChanged(let callId, let state) = event else { return }
        let (uuid, id) = lock.sync { (store.current, store.currentCallId) }
        if let uuid, callId == id {
            render(state, uuid: uuid)
        } else if case .ended(let reason) = state, let other = UUID(uuidString: callId) {
            // Another call (a busy invite during this one, say) ended: only CallKit hears it.
            finish(other, reason: reason, tellCallKit: true)
        }
    }

    private func render(_ callState: CallState, uuid: UUID) {
        switch callState {
        case .ringing:
            update { s in
                if case .dialing(let p, _) = s.phase { s.phase = .dialing(p, calleeRinging: true) }
            }
        case .connected:
            let muted = client.isMuted()
            // Decided and changed in one step: two events cannot both report "connected".
            let reportOutgoing = update { s -> Bool in
                guard s.current == uuid else { return false }
                if case .active = s.phase { return false }
                s.phase = .active(peer: s.peer, muted: muted)
                return s.outgoing
            }
            if reportOutgoing { reporter.reportOutgoingConnected(uuid: uuid) }
        case .ended(let reason):
            finish(uuid, reason: reason, tellCallKit: true)
        default:
            break
        }
    }

    private func finish(_ uuid: UUID, reason: CallEndReason, tellCallKit: Bool) {
        let wasCurrent = update { s -> Bool in
            guard s.current == uuid else { return false }
            s.current = nil
            s.currentCallId = nil
            s.phase = .ended(reason)
            return true
        }
        if tellCallKit && reason != .localHangup { reporter.reportEnded(uuid: uuid, reason: Self.callKitReason(reason)) }
        if wasCurrent { audio.stop() }
    }

    public static func callKitReason(_ reason: CallEndReason) -> CallEndedReason {
        switch reason {
        case .answeredElsewhere: return .answeredElsewhere
        case .declined: return .declinedElsewhere
        case .missed, .cancelled: return .unanswered
        case .remoteEnded, .localHangup: return .remoteEnded
        case .busy, .failed, .connectionLost: return .failed
        }
    }
}

private final class Forwarder: CallListener, Sendable {
    let handle: @Sendable (CallEvent) -> Void
    init(_ handle: @escaping @Sendable (CallEvent) -> Void) { self.handle = handle }
    func onCallEvent(event: CallEvent) { handle(event) }
}

private final class IncomingForwarder: IncomingCallListener, Sendable {
    let handle: @Sendable (Call) -> Void
    init(_ handle: @escaping @Sendable (Call) -> Void) { self.handle = handle }
    func onIncomingCall(call: Call) { handle(call) }
}
