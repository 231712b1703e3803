import BanditWorker
import Foundation
import ServiceLifecycle

/// A blocking loop (libpq, cnats) as a `Service`: it runs on a thread of its own, never on the
/// concurrency pool, and the group's graceful shutdown or cancellation reach it as its
/// ``StopSignal``, the one thing such a loop checks between blocking calls.
///
/// A loop that does not return within `abandonAfter` of being stopped (a libpq call blocked on a
/// hung server) is left behind: the service returns so the rest of the group can shut down, and
/// the process's exit ends the thread. Without `abandonAfter` the service waits for the loop.
public struct ThreadService: Service, CustomStringConvertible {
    public let name: String
    public let abandonAfter: Duration?
    let body: @Sendable (StopSignal) throws -> Void

    public init(name: String, abandonAfter: Duration? = nil, _ body: @escaping @Sendable (StopSignal) throws -> Void) {
        self.name = name
        self.abandonAfter = abandonAfter
        self.body = body
    }

    public var description: String { name }

    public func run() async throws {
        _ = try await runUntilShutdown(name: name, abandonAfter: abandonAfter, body)
    }
}

/// Runs `body` on a thread of its own until it returns; graceful shutdown or cancellation of the
/// calling task request its ``StopSignal``. Nil if it was abandoned (see ``ThreadService``).
public func runUntilShutdown<T: Sendable>(
    name: String, abandonAfter: Duration? = nil, _ body: @escaping @Sendable (StopSignal) throws -> T
) async throws -> T? {
    let stop = StopSignal()
    let finish = OneShot<Result<T, any Error>?>()
    let thread = Thread { finish.resume(Result { try body(stop) }) }
    thread.name = name
    thread.stackSize = 8 << 20
    return try await withTaskCancellationOrGracefulShutdownHandler {
        try await finish.value { thread.start() }?.get()
    } onCancelOrGracefulShutdown: {
        stop.request()
        guard let abandonAfter else { return }
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: abandonAfter.seconds)
            finish.resume(nil)
        }
    }
}

extension Duration {
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
