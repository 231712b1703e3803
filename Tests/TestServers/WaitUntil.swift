import Foundation

/// Polls `condition` every `poll` until it returns true; throws when `timeout` passes first.
///
/// Blocking: for setup code and tests that already run on a thread of their own. An error thrown by
/// `condition` ends the wait at once.
public func waitUntil(
    timeout: Duration,
    poll: Duration = .milliseconds(50),
    _ condition: () throws -> Bool
) throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if try condition() { return }
        if clock.now >= deadline {
            throw TestSupportError("condition not met within \(timeout)")
        }
        Thread.sleep(forTimeInterval: Double(poll.components.attoseconds) / 1e18 + Double(poll.components.seconds))
    }
}

/// Async variant of ``waitUntil(timeout:poll:_:)``: sleeps with `Task.sleep` between polls.
public func waitUntil(
    timeout: Duration,
    poll: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if try await condition() { return }
        if clock.now >= deadline {
            throw TestSupportError("condition not met within \(timeout)")
        }
        try await Task.sleep(for: poll)
    }
}

/// Runs blocking `body` (process spawning, libpq, cnats) on a new thread and awaits its result, so
/// the Swift concurrency pool (two threads on a two-core machine) is not held up.
public func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
