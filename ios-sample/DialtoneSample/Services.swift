// Process-wide objects. PushKit is registered at launch, before any UI, because a VoIP push
// may be what launched the app; the coordinator must exist to report it to CallKit at once.
import Foundation
import Network
import SwiftUI
import Dialtone
import DialtoneSampleKit

@MainActor
final class Services: ObservableObject {
    @Published private(set) var screen: AppModel.Screen = .signIn
    @Published private(set) var call: CallPhase = .idle
    @Published private(set) var error: String?
    @Published var settings: BackendSettings

    private(set) var client: DialtoneClient?
    private(set) var model: AppModel?
    private(set) var coordinator: CallCoordinator?
    let callKit = CallKitProvider()
    let audio = AudioEngineUnit()
    private var push: PushKitHandler!
    private var observer: UUID?
    /// Tells the SDK when the network path changes (Wi-Fi ↔ cellular), so a call restarts
    /// ICE at once instead of waiting for its connection to time out.
    private let pathMonitor = NWPathMonitor()
    private var lastInterfaces: [NWInterface.InterfaceType]?

    init() {
        settings = SettingsStore.load() ?? .simulatorMock
        initLogging(level: .info, sink: nil)
        connect()
        push = PushKitHandler(services: self)
        pathMonitor.pathUpdateHandler = { [weak self] path in
            let interfaces = [NWInterface.InterfaceType.wifi, .cellular, .wiredEthernet].filter { path.usesInterfaceType($0) }
            Task { @MainActor in self?.pathChanged(satisfied: path.status == .satisfied, interfaces: interfaces) }
        }
        pathMonitor.start(queue: DispatchQueue(label: "dev.dialtone.sample.path"))
    }

    /// The first update is the current path, not a change.
    private func pathChanged(satisfied: Bool, interfaces: [NWInterface.InterfaceType]) {
        defer { lastInterfaces = interfaces }
        guard satisfied, let last = lastInterfaces, last != interfaces, let client else { return }
        Task { try? await client.networkChanged() }
    }

    /// (Re)creates the SDK objects for the current backend settings. If the client cannot
    /// be made (bad settings, storage unavailable), there is no client and the error is
    /// shown: never a silent throw-away client in a temporary directory, which would hold
    /// another identity than the one registered with the backend.
    func connect() {
        if let observer { coordinator?.stopObserving(observer) }
        do {
            let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
                .appendingPathComponent(settings.directoryName)
            let client = try DialtoneClient(config: settings.config(), dataDir: dir.path)
            let model = AppModel(client: client)
            let coordinator = CallCoordinator(client: client, reporter: callKit, audio: audio)
            self.client = client
            self.model = model
            self.coordinator = coordinator
            callKit.coordinator = coordinator
            model.onChange = { [weak self] in Task { @MainActor in self?.refresh() } }
            observer = coordinator.observe { [weak self] phase in Task { @MainActor in self?.call = phase } }
        } catch {
            client = nil
            model = nil
            coordinator = nil
            callKit.coordinator = nil
            self.error = "The SDK could not start with these settings: \(error). Change them in Settings."
        }
        refresh()
    }

    func save(_ settings: BackendSettings) {
        SettingsStore.save(settings)
        self.settings = settings
        connect()
    }

    func signIn(first: String, last: String) async {
        // The VoIP token may not be there yet (simulator: never); a placeholder keeps the
        // device registered, and the real token replaces it as soon as PushKit has it.
        let token = push.token ?? "no-voip-token-\(UIDevice.current.identifierForVendor?.uuidString ?? "sim")"
        guard let model else { return }
        await model.signIn(firstName: first, lastName: last, voipToken: token)
        refresh()
    }

    func call(_ person: Person) {
        callKit.startCall(to: person)
    }

    func hangUp() {
        callKit.endCurrentCall()
    }

    private func refresh() {
        guard let model else { return }
        screen = model.screen
        error = model.error
    }
}

/// Backend settings in UserDefaults (the SDK keeps the secrets in the Keychain).
enum SettingsStore {
    static func load() -> BackendSettings? {
        UserDefaults.standard.data(forKey: "backend").flatMap { try? JSONDecoder().decode(BackendSettings.self, from: $0) }
    }

    static func save(_ settings: BackendSettings) {
        UserDefaults.standard.set(try? JSONEncoder().encode(settings), forKey: "backend")
    }
}

extension BackendSettings {
    /// One data directory per backend: a clientId from the mock means nothing to AWS.
    var directoryName: String {
        switch self {
        case .mock: return "dialtone-mock"
        case .real: return "dialtone-real"
        }
    }
}
