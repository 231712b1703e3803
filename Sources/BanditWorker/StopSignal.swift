import Foundation
import Synchronization

/// Set once when shutdown begins; blocking loops on our own threads poll it or wait on it.
public final class StopSignal: Sendable {
    public init() {}

    private let requested = Mutex(false)
    private let semaphore = DispatchSemaphore(value: 0)

    public func request() {
        let first = requested.withLock { value in
            defer { value = true }
            return !value
        }
        if first { semaphore.signal() }
    }

    public var isRequested: Bool { requested.withLock { $0 } }

    /// Blocks until `request()`; returns at once if it already happened.
    public func wait() {
        guard !isRequested else { return }
        semaphore.wait()
        semaphore.signal()  // let any other waiter through too
    }

    /// Sleeps up to `duration`; returns true early if stop was requested meanwhile.
    public func sleep(_ duration: Duration) -> Bool {
        if isRequested { return true }
        let (seconds, attoseconds) = duration.components
        let nanos = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        if semaphore.wait(timeout: .now() + .nanoseconds(nanos)) == .success {
            semaphore.signal()
            return true
        }
        return isRequested
    }
}
