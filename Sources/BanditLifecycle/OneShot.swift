import Synchronization

/// A value delivered once, awaited once; later deliveries are dropped.
public final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Value, Never>?)
        case delivered(Value?)
    }

    private let state = Mutex(State.waiting(nil))

    public init() {}

    public func resume(_ value: Value) {
        let continuation = state.withLock { current -> CheckedContinuation<Value, Never>? in
            switch current {
            case .waiting(let continuation):
                current = .delivered(continuation == nil ? value : nil)
                return continuation
            case .delivered:
                return nil
            }
        }
        continuation?.resume(returning: value)
    }

    /// Calls `start` (which leads to `resume`) and waits for the value.
    public func value(after start: () -> Void) async -> Value {
        await withCheckedContinuation { continuation in
            let early = state.withLock { current -> Value? in
                if case .delivered(let value) = current { return value }
                current = .waiting(continuation)
                return nil
            }
            if let early {
                continuation.resume(returning: early)
            } else {
                start()
            }
        }
    }
}
