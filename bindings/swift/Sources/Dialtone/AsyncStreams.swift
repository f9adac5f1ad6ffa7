// Swift idioms over the generated bindings: AsyncStreams of the Person list, of each call's
// events (starting with its current state, finishing after it ends) and of incoming calls;
// finishing a stream cancels the core's listener. `placeCall(to:)` carries Task
// cancellation into the SDK (UniFFI's async calls do not), and handlePush takes PushKit's
// dictionary as it arrives.
//
// Cancellation (docs/adr/0001): `Call.answer()`, `decline()` and `hangup()` complete in the
// SDK even if the awaiting Task is cancelled; a cancelled `placeCall` cancels the call.
import Foundation

private final class PersonsForwarder: PersonsListener, @unchecked Sendable {
    let continuation: AsyncStream<[Person]>.Continuation
    init(_ continuation: AsyncStream<[Person]>.Continuation) { self.continuation = continuation }
    func onPersonsChanged(persons: [Person]) { continuation.yield(persons) }
}

private final class CallForwarder: CallListener, @unchecked Sendable {
    let continuation: AsyncStream<CallEvent>.Continuation
    let finishOnEnd: Bool
    init(_ continuation: AsyncStream<CallEvent>.Continuation, finishOnEnd: Bool) {
        self.continuation = continuation
        self.finishOnEnd = finishOnEnd
    }
    func onCallEvent(event: CallEvent) {
        continuation.yield(event)
        if finishOnEnd, case .stateChanged(_, .ended) = event { continuation.finish() }
    }
}

private final class IncomingForwarder: IncomingCallListener, @unchecked Sendable {
    let continuation: AsyncStream<Call>.Continuation
    init(_ continuation: AsyncStream<Call>.Continuation) { self.continuation = continuation }
    func onIncomingCall(call: Call) { continuation.yield(call) }
}

private final class RoomForwarder: RoomListener, @unchecked Sendable {
    let continuation: AsyncStream<RoomEvent>.Continuation
    init(_ continuation: AsyncStream<RoomEvent>.Continuation) { self.continuation = continuation }
    func onRoomEvent(event: RoomEvent) {
        continuation.yield(event)
        if case .stateChanged(.left) = event { continuation.finish() }
    }
}

/// Keeps the core's subscription alive while its stream is.
private final class Subscription: @unchecked Sendable {
    let handle: TaskHandle?
    init(_ handle: TaskHandle?) { self.handle = handle }
    func cancel() { handle?.cancel() }
}

extension Call {
    /// This call's events: its current state first, then every change, levels and stats;
    /// finishes after the `ended` state. State events are never dropped (unbounded buffer;
    /// the SDK coalesces levels and stats).
    public var events: AsyncStream<CallEvent> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            let subscription = Subscription(try? self.observe(listener: CallForwarder(continuation, finishOnEnd: true)))
            if subscription.handle == nil { continuation.finish() }
            continuation.onTermination = { _ in subscription.cancel() }
        }
    }

    /// This call's states: the current one first; finishes after `ended`.
    public var states: AsyncStream<CallState> {
        let events = self.events
        return AsyncStream(bufferingPolicy: .unbounded) { continuation in
            let task = Task {
                for await event in events {
                    if case .stateChanged(_, let state) = event { continuation.yield(state) }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

extension Room {
    /// This room's events: a `snapshot` first, then every change, speakers, levels and
    /// stats; finishes after the room is `left`. Membership events are never dropped.
    public var events: AsyncStream<RoomEvent> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            let subscription = Subscription(try? self.observe(listener: RoomForwarder(continuation)))
            if subscription.handle == nil { continuation.finish() }
            continuation.onTermination = { _ in subscription.cancel() }
        }
    }

    /// The member list: the current one first (this device first, then by entry), then the
    /// list after every join, leave or change (only the newest is kept).
    public var memberLists: AsyncStream<[RoomMember]> {
        let events = self.events
        return AsyncStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let task = Task {
                for await event in events {
                    switch event {
                    case .snapshot, .memberJoined, .memberLeft, .memberChanged:
                        continuation.yield(self.members())
                    default: break
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
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

    /// Every event of every call from now on (each names its call). For one call from its
    /// start, use `Call.events`, which begins with the call's current state.
    public var callEventStream: AsyncStream<CallEvent> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            let subscription = Subscription(try? self.observeCall(listener: CallForwarder(continuation, finishOnEnd: false)))
            if subscription.handle == nil { continuation.finish() }
            continuation.onTermination = { _ in subscription.cancel() }
        }
    }

    /// Each new incoming call (push or event channel), once.
    public var incomingCalls: AsyncStream<Call> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            let subscription = Subscription(try? self.observeIncomingCalls(listener: IncomingForwarder(continuation)))
            if subscription.handle == nil { continuation.finish() }
            continuation.onTermination = { _ in subscription.cancel() }
        }
    }

    /// Places a call; cancelling the awaiting Task cancels the call (and throws
    /// `DialtoneError.Cancelled`), also when the cancellation lands just after the call was
    /// placed: the signal then hangs up that call, and no caller is handed a call it gave up.
    public func placeCall(to calleeClientId: String) async throws -> Call {
        let signal = CancelSignal()
        let call = try await withTaskCancellationHandler {
            try await self.startCall(calleeClientId: calleeClientId, cancel: signal)
        } onCancel: {
            signal.cancel()
        }
        if signal.isCancelled() {
            throw DialtoneError.Cancelled(detail: "placeCall was cancelled; the call was hung up")
        }
        return call
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
