// Swift idioms over the generated bindings: AsyncStreams of the Person list and of call
// events (finishing the stream cancels the core's listener), and handlePush taking
// PushKit's dictionary as it arrives.
import Foundation

private final class PersonsForwarder: PersonsListener, @unchecked Sendable {
    let continuation: AsyncStream<[Person]>.Continuation
    init(_ continuation: AsyncStream<[Person]>.Continuation) { self.continuation = continuation }
    func onPersonsChanged(persons: [Person]) { continuation.yield(persons) }
}

private final class CallForwarder: CallListener, @unchecked Sendable {
    let continuation: AsyncStream<CallEvent>.Continuation
    init(_ continuation: AsyncStream<CallEvent>.Continuation) { self.continuation = continuation }
    func onCallEvent(event: CallEvent) { continuation.yield(event) }
}

extension DialtoneClient {
    /// The Person list: the current one first, then every change (only the newest is kept
    /// if the consumer falls behind).
    public var personsStream: AsyncStream<[Person]> {
        AsyncStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let handle = self.observePersons(listener: PersonsForwarder(continuation))
            continuation.onTermination = { _ in handle.cancel() }
        }
    }

    /// Every call event from now on.
    public var callEventStream: AsyncStream<CallEvent> {
        AsyncStream(bufferingPolicy: .bufferingNewest(256)) { continuation in
            let handle = self.observeCall(listener: CallForwarder(continuation))
            continuation.onTermination = { _ in handle.cancel() }
        }
    }

    /// PushKit's `payload.dictionaryPayload`, as is. Synchronous: call it, then report the
    /// call to CallKit before returning from the PushKit callback.
    public func handlePush(dictionary: [AnyHashable: Any]) throws -> PushOutcome {
        var plain: [String: Any] = [:]
        for (key, value) in dictionary {
            if let key = key as? String { plain[key] = value }
        }
        guard JSONSerialization.isValidJSONObject(plain),
              let data = try? JSONSerialization.data(withJSONObject: plain) else {
            throw DialtoneError.InvalidInput(detail: "the push dictionary is not JSON-serialisable")
        }
        return try handlePush(payload: String(decoding: data, as: UTF8.self))
    }
}
