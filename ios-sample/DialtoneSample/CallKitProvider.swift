// CallKit: the coordinator's CallReporter (CXProvider reports) and CXProviderDelegate
// (answer, end, start, mute, audio session). Audio runs only between didActivate and
// didDeactivate, as CallKit requires.
import AVFoundation
import CallKit
import Foundation
import Dialtone
import DialtoneSampleKit

/// Thread safety: `pendingCallee` and `current` are touched only on `queue`, which is also
/// the queue CallKit calls the delegate on (`setDelegate(_:queue:)`); the UI's entry points
/// hop onto it. `coordinator` is set once per backend connection from the main actor, under
/// `lock`. That confinement is what the `@unchecked Sendable` stands for.
final class CallKitProvider: NSObject, CXProviderDelegate, CallReporter, @unchecked Sendable {
    private let queue = DispatchQueue(label: "dev.dialtone.sample.callkit")
    private let provider: CXProvider
    /// Stand-in calls (a duplicate, stale or unreadable VoIP push must still be reported)
    /// go through a second provider whose calls stay out of the Phone app's Recents:
    /// `includesCallsInRecents` is per provider configuration, not per call.
    private let standIns: CXProvider
    private let controller = CXCallController()
    private let lock = NSLock()
    private weak var coordinator_: CallCoordinator?
    var coordinator: CallCoordinator? {
        get { lock.lock(); defer { lock.unlock() }; return coordinator_ }
        set { lock.lock(); coordinator_ = newValue; lock.unlock() }
    }
    private var pendingCallee: [UUID: Person] = [:]
    private var current: UUID?

    override init() {
        provider = CXProvider(configuration: Self.configuration(recents: true))
        standIns = CXProvider(configuration: Self.configuration(recents: false))
        super.init()
        provider.setDelegate(self, queue: queue)
    }

    private static func configuration(recents: Bool) -> CXProviderConfiguration {
        let config = CXProviderConfiguration()
        config.supportsVideo = false
        config.maximumCallGroups = 1
        config.maximumCallsPerCallGroup = 1
        config.supportedHandleTypes = [.generic]
        config.includesCallsInRecents = recents
        return config
    }

    /// Used only when a VoIP push arrives before (or without) the app's services.
    static let fallback = CallKitProvider()

    /// Reports a stand-in call and ends it at once: the rule for a VoIP push that cannot be
    /// turned into a call (PushKit terminates apps that report nothing). Not in Recents.
    func reportUnavailable(completion: @escaping @Sendable () -> Void) {
        reportStandIn(reason: .failed, completion: completion)
    }

    private func reportStandIn(reason: CXCallEndedReason, completion: @escaping @Sendable () -> Void) {
        let uuid = UUID()
        let update = CXCallUpdate()
        update.remoteHandle = CXHandle(type: .generic, value: "Dialtone")
        update.hasVideo = false
        standIns.reportNewIncomingCall(with: uuid, update: update) { [standIns] _ in
            standIns.reportCall(with: uuid, endedAt: Date(), reason: reason)
            completion()
        }
    }

    // MARK: CallReporter

    func reportIncoming(uuid: UUID, handle: String, callerName: String?, completion: @escaping @Sendable (Error?) -> Void) {
        if handle == CallCoordinator.standInHandle {
            // The coordinator's stand-in for a push that is not a live call: out of Recents.
            let update = CXCallUpdate()
            update.remoteHandle = CXHandle(type: .generic, value: "Dialtone")
            standIns.reportNewIncomingCall(with: uuid, update: update) { error in completion(error) }
            return
        }
        let update = CXCallUpdate()
        update.remoteHandle = CXHandle(type: .generic, value: handle)
        update.localizedCallerName = callerName
        update.hasVideo = false
        update.supportsHolding = false
        update.supportsDTMF = false
        provider.reportNewIncomingCall(with: uuid, update: update) { error in completion(error) }
    }

    func reportEnded(uuid: UUID, reason: CallEndedReason) {
        let mapped: CXCallEndedReason
        switch reason {
        case .failed: mapped = .failed
        case .remoteEnded: mapped = .remoteEnded
        case .unanswered: mapped = .unanswered
        case .answeredElsewhere: mapped = .answeredElsewhere
        case .declinedElsewhere: mapped = .declinedElsewhere
        }
        // Ending a UUID the provider does not know is a no-op, so both may be told.
        provider.reportCall(with: uuid, endedAt: Date(), reason: mapped)
        standIns.reportCall(with: uuid, endedAt: Date(), reason: mapped)
    }

    func reportOutgoingConnecting(uuid: UUID) {
        provider.reportOutgoingCall(with: uuid, startedConnectingAt: Date())
    }

    func reportOutgoingConnected(uuid: UUID) {
        provider.reportOutgoingCall(with: uuid, connectedAt: Date())
    }

    // MARK: From the app's UI

    func startCall(to person: Person) {
        let uuid = UUID()
        queue.async { [self] in
            pendingCallee[uuid] = person
            let handle = CXHandle(type: .generic, value: person.clientId)
            let action = CXStartCallAction(call: uuid, handle: handle)
            action.contactIdentifier = "\(person.firstName) \(person.lastName)"
            controller.request(CXTransaction(action: action)) { error in
                if let error { NSLog("CallKit refused the call: \(error)") }
            }
        }
    }

    func endCurrentCall() {
        queue.async { [self] in
            guard let uuid = current ?? controller.callObserver.calls.first?.uuid else { return }
            controller.request(CXTransaction(action: CXEndCallAction(call: uuid))) { _ in }
        }
    }

    // MARK: CXProviderDelegate (all on `queue`)

    func providerDidReset(_ provider: CXProvider) {
        // Every call is gone from CallKit: read what was current before forgetting it.
        let coordinator = self.coordinator
        current = nil
        pendingCallee.removeAll()
        Task { await coordinator?.reset() }
    }

    // CallKit wants start and answer fulfilled promptly: joining the media session takes
    // network round trips, so it runs in the background and audio starts in didActivate
    // (developer.apple.com/documentation/callkit/cxprovider, "Handling actions"). A join
    // that fails afterwards is reported as a failed call.
    func provider(_ provider: CXProvider, perform action: CXStartCallAction) {
        guard let coordinator, let callee = pendingCallee.removeValue(forKey: action.callUUID) else {
            return action.fail()
        }
        current = action.callUUID
        configureAudioSession()
        action.fulfill()
        let uuid = action.callUUID
        Task {
            // On failure the coordinator reports the call ended (failed or busy) itself.
            try? await coordinator.start(uuid: uuid, callee: callee)
        }
    }

    func provider(_ provider: CXProvider, perform action: CXAnswerCallAction) {
        guard let coordinator else { return action.fail() }
        current = action.callUUID
        configureAudioSession()
        action.fulfill()
        let uuid = action.callUUID
        Task { [provider] in
            do {
                try await coordinator.answer(uuid: uuid)
            } catch {
                provider.reportCall(with: uuid, endedAt: Date(), reason: .failed)
                await coordinator.end(uuid: uuid)
            }
        }
    }

    func provider(_ provider: CXProvider, perform action: CXEndCallAction) {
        if current == action.callUUID { current = nil }
        // Fulfilled at once: the SDK completes decline / hangup even after this returns.
        action.fulfill()
        guard let coordinator else { return }
        let uuid = action.callUUID
        Task { await coordinator.end(uuid: uuid) }
    }

    func provider(_ provider: CXProvider, perform action: CXSetMutedCallAction) {
        coordinator?.setMuted(action.isMuted)
        action.fulfill()
    }

    /// An action CallKit gave up on (the app took too long): end that call on both sides.
    func provider(_ provider: CXProvider, timedOutPerforming action: CXAction) {
        guard let action = action as? CXCallAction else { return }
        let uuid = action.callUUID
        if current == uuid { current = nil }
        provider.reportCall(with: uuid, endedAt: Date(), reason: .failed)
        let coordinator = self.coordinator
        Task { await coordinator?.end(uuid: uuid) }
    }

    func provider(_ provider: CXProvider, didActivate audioSession: AVAudioSession) {
        do {
            try coordinator?.audioSessionActivated()
        } catch {
            NSLog("audio could not start: \(error)")
        }
    }

    func provider(_ provider: CXProvider, didDeactivate audioSession: AVAudioSession) {
        coordinator?.audioSessionDeactivated()
    }

    /// Category and mode only: CallKit activates the session itself, at the right moment.
    private func configureAudioSession() {
        let session = AVAudioSession.sharedInstance()
        try? session.setCategory(.playAndRecord, mode: .voiceChat, options: [.allowBluetooth])
        try? session.setPreferredSampleRate(AudioBridge.sampleRate)
        try? session.setPreferredIOBufferDuration(0.01)
    }
}
