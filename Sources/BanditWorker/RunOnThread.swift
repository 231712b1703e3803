import Foundation

/// Runs blocking work (cnats, libpq) on a thread of its own, so it never holds a thread of the
/// Swift concurrency pool.
public func runOnThread<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }
}
