// PushKit: the VoIP token goes to the SDK (register / updatePushToken), and every VoIP push
// goes to the coordinator, which reports it to CallKit before this callback returns. iOS
// terminates apps that receive a VoIP push without reporting a call.
import Foundation
import PushKit

final class PushKitHandler: NSObject, PKPushRegistryDelegate {
    private let registry = PKPushRegistry(queue: .main)
    private weak var services: Services?
    private(set) var token: String?

    @MainActor
    init(services: Services) {
        self.services = services
        super.init()
        registry.delegate = self
        registry.desiredPushTypes = [.voIP]
    }

    func pushRegistry(_ registry: PKPushRegistry, didUpdate credentials: PKPushCredentials, for type: PKPushType) {
        let hex = credentials.token.map { String(format: "%02x", $0) }.joined()
        token = hex
        Task { @MainActor in _ = await self.services?.model?.pushTokenChanged(hex) }
    }

    func pushRegistry(_ registry: PKPushRegistry, didReceiveIncomingPushWith payload: PKPushPayload,
                      for type: PKPushType, completion: @escaping () -> Void) {
        // Synchronous all the way to reportNewIncomingCall: no network, no await.
        MainActor.assumeIsolated {
            guard let services, let coordinator = services.coordinator else {
                // No SDK client (its storage could not be opened): iOS still requires a
                // report, so a stand-in call is reported and ended at once.
                (services?.callKit ?? CallKitProvider.fallback).reportUnavailable(completion: completion)
                return
            }
            coordinator.handleVoIPPush(payload.dictionaryPayload) { completion() }
        }
    }

    func pushRegistry(_ registry: PKPushRegistry, didInvalidatePushTokenFor type: PKPushType) {
        token = nil
    }
}
