import Foundation
import Logging
import Synchronization

/// Sends `WATCHDOG=1` only while every registered loop makes progress, so a wedged fetch loop lets
/// systemd restart the daemon.
///
/// Each fetch loop calls ``register(loop:)`` before it starts, ``beat(loop:)`` on every iteration
/// (an empty fetch counts, and so does each wait while reconnecting: an unreachable server is not a
/// wedge, and a restart would not cure it), and ``unregister(loop:)`` when it ends. A tick pings
/// only when every registered loop beat within `stallThreshold`; with no loops registered (start-up,
/// the end of a drain) it pings.
public final class ProgressWatchdog: Sendable {
    public let stallThreshold: Duration
    private let logger: Logger
    private let now: @Sendable () -> Duration

    private struct State: Sendable {
        var lastBeat: [String: Duration] = [:]
        var stalled = false
        var ticker: Ticker?
    }

    private struct Ticker: Sendable {
        let wake: DispatchSemaphore
        let finished: DispatchSemaphore
    }

    private let state = Mutex(State())

    /// - Parameters:
    ///   - stallThreshold: how long a loop may go without a beat before it counts as wedged. It
    ///     must exceed the longest honest iteration (fetch wait + apply + settle + retry sleeps).
    ///   - now: a monotonic time source; tests inject a manual one. By default the continuous clock.
    public init(
        stallThreshold: Duration,
        logger: Logger = Logger(label: "banditd.watchdog"),
        now: (@Sendable () -> Duration)? = nil
    ) {
        precondition(stallThreshold > .zero, "stall threshold must be positive")
        self.stallThreshold = stallThreshold
        self.logger = logger
        if let now {
            self.now = now
        } else {
            let origin = ContinuousClock.now
            self.now = { ContinuousClock.now - origin }
        }
    }

    deinit {
        precondition(state.withLock { $0.ticker == nil }, "ProgressWatchdog released while ticking: call stop()")
    }

    /// Starts watching `loop`, as if it had just beaten.
    public func register(loop: String) {
        let time = now()
        state.withLock { $0.lastBeat[loop] = time }
    }

    /// Stops watching `loop` (it ended normally).
    public func unregister(loop: String) {
        _ = state.withLock { $0.lastBeat.removeValue(forKey: loop) }
    }

    /// `loop` completed an iteration. An unknown loop is registered.
    public func beat(loop: String) {
        let time = now()
        state.withLock { $0.lastBeat[loop] = time }
    }

    /// Registered loops whose last beat is older than `stallThreshold`, sorted by name.
    public func stalledLoops() -> [String] {
        let time = now()
        return state.withLock { current in
            current.lastBeat.filter { time - $0.value > stallThreshold }.keys.sorted()
        }
    }

    /// One watchdog tick: sends `WATCHDOG=1` when no loop is stalled; returns whether it did. Logs
    /// when loops stall and when they recover.
    @discardableResult
    public func tick(notifier: SystemdNotifier) -> Bool {
        let stalled = stalledLoops()
        let changed = state.withLock { current -> Bool in
            defer { current.stalled = !stalled.isEmpty }
            return current.stalled != !stalled.isEmpty
        }
        guard stalled.isEmpty else {
            if changed {
                logger.error(
                    "fetch loop stalled, withholding watchdog ping",
                    metadata: [
                        "watchdog.stalled_loops": "\(stalled.joined(separator: ","))",
                        "watchdog.stall_threshold_ms": .milliseconds(stallThreshold),
                    ]
                )
            }
            return false
        }
        if changed { logger.notice("fetch loops progress again, resuming watchdog pings") }
        do {
            return try notifier.watchdog()
        } catch {
            logger.warning("watchdog ping failed", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Ticks every `interval` (``WatchdogPolicy/pingInterval``) on a thread of its own, the first
    /// tick at once.
    public func start(interval: Duration, notifier: SystemdNotifier) {
        precondition(interval > .zero, "watchdog interval must be positive")
        let ticker = Ticker(wake: DispatchSemaphore(value: 0), finished: DispatchSemaphore(value: 0))
        state.withLock { current in
            precondition(current.ticker == nil, "ProgressWatchdog started twice")
            current.ticker = ticker
        }
        let nanoseconds =
            Int(interval.components.seconds) * 1_000_000_000
            + Int(interval.components.attoseconds / 1_000_000_000)
        let thread = Thread { [self] in
            repeat {
                tick(notifier: notifier)
            } while ticker.wake.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .timedOut
            ticker.finished.signal()
        }
        thread.name = "banditd-watchdog"
        thread.start()
    }

    /// Stops the ticking thread and waits for it. Safe to call more than once.
    public func stop() {
        let taken = state.withLock { current -> Ticker? in
            let ticker = current.ticker
            current.ticker = nil
            return ticker
        }
        guard let ticker = taken else { return }
        ticker.wake.signal()
        ticker.finished.wait()
    }
}
