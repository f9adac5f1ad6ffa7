// The sample's app model, free of SwiftUI: sign-in with a first and last name, the live
// Person list, errors as messages. The SwiftUI views observe it through `onChange`.
import Foundation
import Dialtone

public final class AppModel: @unchecked Sendable {
    public enum Screen: Equatable, Sendable {
        case signIn
        case people(me: Person?, others: [Person])
    }

    private let client: DialtoneClient
    private let lock = NSLock()
    private var screen_: Screen
    private var error_: String?
    private var follow: Task<Void, Never>?
    public var onChange: (@Sendable () -> Void)?

    public init(client: DialtoneClient) {
        self.client = client
        screen_ = ((try? client.clientId()) ?? nil) == nil ? .signIn : .people(me: nil, others: [])
        if case .people = screen_ { startFollowing() }
    }

    deinit { follow?.cancel() }

    public var screen: Screen { lock.sync { screen_ } }
    public var error: String? { lock.sync { error_ } }

    /// Registers the VoIP push token (idempotent), saves the profile, starts the live list.
    @discardableResult
    public func signIn(firstName: String, lastName: String, voipToken: String) async -> Bool {
        await attempt {
            _ = try await self.client.register(push: PushToken(kind: .apnsVoip, token: voipToken))
            _ = try await self.client.saveProfile(firstName: firstName, lastName: lastName)
            _ = try await self.client.syncPersons()
            self.startFollowing()
        }
    }

    /// PushKit gave a new token.
    @discardableResult
    public func pushTokenChanged(_ voipToken: String) async -> Bool {
        await attempt {
            if try self.client.clientId() != nil {
                _ = try await self.client.updatePushToken(push: PushToken(kind: .apnsVoip, token: voipToken))
            }
        }
    }

    public func dismissError() { lock.sync { error_ = nil }; onChange?() }

    private func startFollowing() {
        guard lock.sync({ follow == nil }) else { return }
        let stream = client.personsStream
        let task = Task { [weak self] in
            for await all in stream {
                guard let self else { return }
                self.lock.sync { self.screen_ = .people(me: all.first { $0.isSelf }, others: all.filter { !$0.isSelf }) }
                self.onChange?()
            }
        }
        lock.sync { follow = task }
    }

    private func attempt(_ body: @escaping () async throws -> Void) async -> Bool {
        do {
            try await body()
            return true
        } catch let e as DialtoneError {
            lock.sync { error_ = Self.describe(e) }
            onChange?()
            return false
        } catch {
            lock.sync { error_ = "\(error)" }
            onChange?()
            return false
        }
    }

    public static func describe(_ e: DialtoneError) -> String {
        switch e {
        case .Network: return "No connection to the server. Try again."
        case .Busy: return "They are already on a call."
        case .InvalidInput(let detail): return "Please check what you entered: \(detail)"
        case .Unauthorized: return "The server refused this app's credentials."
        case .NotRegistered: return "Please sign in again."
        default: return "Something went wrong: \(e)"
        }
    }
}
