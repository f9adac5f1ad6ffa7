// CallKit: the coordinator's CallReporter (CXProvider reports) and CXProviderDelegate
// (answer, end, start, mute, audio session). Audio runs only between didActivate and
// didDeactivate, as CallKit requires.
import AVFoundation
import CallKit
import Foundation
import Dialtone
import DialtoneSampleKit

final class CallKitProvider: NSObject, CXProviderDelegate, CallReporter, @unchecked Sendable {
    private let provider: CXProvider
    private let controller = CXCallController()
    weak var coordinator: CallCoordinator?
    private var pendingCallee: [UUID: Person] = [:]
    private var current: UUID?

    override init() {
        let config = CXProviderConfiguration()
        config.supportsVideo = false
        config.maximumCallGroups = 1
        config.maximumCallsPerCallGroup = 1
        config.supportedHandleTypes = [.generic]
        config.includesCallsInRecents = true
        provider = CXProvider(configuration: config)
        super.init()
        provider.setDelegate(self, queue: nil)
    }

    /// Used only when a VoIP push arrives before (or without) the app's services.
    static let fallback = CallKitProvider()

    /// Reports a stand-in call and ends it at once: the rule for a VoIP push that cannot be
    /// turned into a call (PushKit terminates apps that report nothing).
    func reportUnavailable(completion: @escaping () -> Void) {
        let uuid = UUID()
        let update = CXCallUpdate()
        update.remoteHandle = CXHandle(type: .generic, value: "Dialtone")
        update.hasVideo = false
        provider.reportNewIncomingCall(with: uuid, update: update) { [provider] _ in
            provider.reportCall(with: uuid, endedAt: Date(), reason: .failed)
            completion()
        }
    }

    // MARK: CallReporter

    func reportIncoming(uuid: UUID, handle: String, callerName: String?, completion: @escaping @Sendable (Error?) -> Void) {
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
        provider.reportCall(with: uuid, endedAt: Date(), reason: mapped)
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
        pendingCallee[uuid] = person
        let handle = CXHandle(type: .generic, value: person.clientId)
        let action = CXStartCallAction(call: uuid, handle: handle)
        action.contactIdentifier = "\(person.firstName) \(person.lastName)"
        controller.request(CXTransaction(action: action)) { error in
            if let error { NSLog("CallKit refused the call: \(error)") }
        }
    }

    func endCurrentCall() {
        guard let uuid = current ?? controller.callObserver.calls.first?.uuid else { return }
        controller.request(CXTransaction(action: CXEndCallAction(call: uuid))) { _ in }
    }

    // MARK: CXProviderDelegate

    func providerDidReset(_ provider: CXProvider) {
        Task { [coordinator] in
            if let uuid = self.current { await coordinator?.end(uuid: uuid) }
        }
        current = nil
    }

    func provider(_ provider: CXProvider, perform action: CXStartCallAction) {
        guard let coordinator, let callee = pendingCallee.removeValue(forKey: action.callUUID) else {
            return action.fail()
        }
        current = action.callUUID
        configureAudioSession()
        Task {
            do {
                try await coordinator.start(uuid: action.callUUID, callee: callee)
                action.fulfill()
            } catch {
                action.fail()
            }
        }
    }

    func provider(_ provider: CXProvider, perform action: CXAnswerCallAction) {
        guard let coordinator else { return action.fail() }
        current = action.callUUID
        configureAudioSession()
        Task {
            do {
                try await coordinator.answer(uuid: action.callUUID)
                action.fulfill()
            } catch {
                action.fail()
            }
        }
    }

    func provider(_ provider: CXProvider, perform action: CXEndCallAction) {
        guard let coordinator else { return action.fail() }
        if current == action.callUUID { current = nil }
        Task {
            await coordinator.end(uuid: action.callUUID)
            action.fulfill()
        }
    }

    func provider(_ provider: CXProvider, perform action: CXSetMutedCallAction) {
        coordinator?.setMuted(action.isMuted)
        action.fulfill()
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
