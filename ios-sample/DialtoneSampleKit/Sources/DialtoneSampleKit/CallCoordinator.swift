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

public final class CallCoordinator: @unchecked Sendable {
    private let client: DialtoneClient
    private let reporter: CallReporter
    private let audio: AudioUnit
    private let lock = NSLock()
    private var phase_: CallPhase = .idle
    private var current: UUID?
    /// The SDK's id of the current call (a placed call's differs from its CallKit UUID).
    private var currentCallId: String?
    private var peer = ""
    private var outgoing = false
    private var reported = Set<UUID>()
    private var subscription: TaskHandle?
    private var incoming: TaskHandle?
    private var observers: [UUID: @Sendable (CallPhase) -> Void] = [:]

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

    deinit {
        subscription?.cancel()
        incoming?.cancel()
    }

    static func invite(of call: Call) -> IncomingInvite {
        IncomingInvite(
            callId: call.id(),
            callerName: call.remoteName(),
            handle: call.remoteClientId() ?? call.remoteName() ?? "Unknown",
            receivedAtMs: Int64(Date().timeIntervalSince1970 * 1000)
        )
    }

    public var phase: CallPhase { lock.sync { phase_ } }

    /// Calls `observer` with every new phase until the returned token is passed to `stopObserving`.
    public func observe(_ observer: @escaping @Sendable (CallPhase) -> Void) -> UUID {
        let id = UUID()
        lock.sync { observers[id] = observer }
        return id
    }

    public func stopObserving(_ id: UUID) { lock.sync { _ = observers.removeValue(forKey: id) } }

    private func set(_ phase: CallPhase) {
        let targets = lock.sync { () -> [@Sendable (CallPhase) -> Void] in
            phase_ = phase
            return Array(observers.values)
        }
        targets.forEach { $0(phase) }
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
        reporter.reportIncoming(uuid: standIn, handle: "Dialtone", callerName: nil) { [reporter] _ in
            reporter.reportEnded(uuid: standIn, reason: reason)
            completion()
        }
    }

    private func ring(_ invite: IncomingInvite, uuid: UUID, completion: (@Sendable () -> Void)? = nil) {
        let fresh = lock.sync { () -> Bool in
            if reported.contains(uuid) { return false }
            reported.insert(uuid)
            if current == nil {
                current = uuid
                currentCallId = invite.callId
                peer = invite.callerName ?? invite.handle
                outgoing = false
            }
            return true
        }
        guard fresh else { completion?(); return }
        if lock.sync({ current == uuid }) { set(.ringing(invite)) }
        reporter.reportIncoming(uuid: uuid, handle: invite.handle, callerName: invite.callerName) { _ in completion?() }
    }

    // MARK: CallKit actions

    /// CXAnswerCallAction: joins the call. Audio waits for `audioSessionActivated`.
    public func answer(uuid: UUID) async throws {
        _ = try await client.answer(callId: uuid.uuidString.lowercased())
    }

    /// CXEndCallAction: declines a ringing call, or hangs up.
    public func end(uuid: UUID) async {
        let ringing: Bool
        if case .ringing(let invite) = phase, invite.callId == uuid.uuidString.lowercased() { ringing = true } else { ringing = false }
        if ringing {
            try? await client.decline(callId: uuid.uuidString.lowercased())
        } else {
            try? await client.endCall()
        }
        finish(uuid, reason: .localHangup, tellCallKit: false)
    }

    /// CXStartCallAction (after the app asked CXCallController for it).
    public func start(uuid: UUID, callee: Person) async throws {
        lock.sync { current = uuid; currentCallId = nil; peer = "\(callee.firstName) \(callee.lastName)"; outgoing = true }
        set(.dialing(callee, calleeRinging: false))
        reporter.reportOutgoingConnecting(uuid: uuid)
        do {
            // Cancelling the Task (CallKit's action timed out) cancels the call too.
            let call = try await client.placeCall(to: callee.clientId)
            lock.sync { if current == uuid { currentCallId = call.id() } }
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
        if case .active(let p, _) = phase { set(.active(peer: p, muted: muted)) }
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
        let (uuid, id) = lock.sync { (current, currentCallId) }
        if let uuid, callId == id {
            render(state, uuid: uuid)
        } else if case .ended(let reason) = state, let other = UUID(uuidString: callId) {
            // Another call (a busy invite during this one, say) ended: only CallKit hears it.
            finish(other, reason: reason, tellCallKit: true)
        }
    }

    private func render(_ state: CallState, uuid: UUID) {
        switch state {
        case .ringing:
            if case .dialing(let p, _) = phase { set(.dialing(p, calleeRinging: true)) }
        case .connected:
            let (isOutgoing, name) = lock.sync { (outgoing, peer) }
            if case .active = phase { return }
            if isOutgoing { reporter.reportOutgoingConnected(uuid: uuid) }
            set(.active(peer: name, muted: client.isMuted()))
        case .ended(let reason):
            finish(uuid, reason: reason, tellCallKit: true)
        default:
            break
        }
    }

    private func finish(_ uuid: UUID, reason: CallEndReason, tellCallKit: Bool) {
        let wasCurrent = lock.sync { () -> Bool in
            guard current == uuid else { return false }
            current = nil
            currentCallId = nil
            return true
        }
        if tellCallKit && reason != .localHangup { reporter.reportEnded(uuid: uuid, reason: Self.callKitReason(reason)) }
        if wasCurrent {
            audio.stop()
            set(.ended(reason))
        }
    }

    public static func callKitReason(_ reason: CallEndReason) -> CallEndedReason {
        switch reason {
        case .answeredElsewhere: return .answeredElsewhere
        case .declined: return .declinedElsewhere
        case .missed, .cancelled: return .unanswered
        case .remoteEnded, .localHangup: return .remoteEnded
        case .busy, .failed: return .failed
        }
    }
}

private final class Forwarder: CallListener, @unchecked Sendable {
    let handle: (CallEvent) -> Void
    init(_ handle: @escaping (CallEvent) -> Void) { self.handle = handle }
    func onCallEvent(event: CallEvent) { handle(event) }
}

private final class IncomingForwarder: IncomingCallListener, @unchecked Sendable {
    let handle: (Call) -> Void
    init(_ handle: @escaping (Call) -> Void) { self.handle = handle }
    func onIncomingCall(call: Call) { handle(call) }
}
