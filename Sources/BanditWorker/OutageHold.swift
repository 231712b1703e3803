/// The decisions of a worker applying one batch: retry a conflict at once, hold through an
/// outage (keeping the messages alive and the watchdog fed), or give up on conflicts. A pure
/// state machine — `mutating func failed(…) -> Action` — so each transition is unit-tested; the
/// worker does the I/O the action names.
///
/// A hold never spends the messages' delivery budget (they are kept alive with `+WPI` every
/// ack wait / 3) and never ends on its own: it ends when the batch applies or the daemon stops.
public struct OutageHold: Sendable {
    public struct Policy: Sendable, Equatable {
        /// Conflicts (40001, 40P01) retried in-process before the batch is redelivered.
        public var maxConflictRetries = 5
        /// How often held messages get `+WPI`: a third of the consumer's ack wait.
        public var keepAliveInterval: Duration
        /// Waits between attempts while holding: backoff from `retryBase` doubling to
        /// `retryCap` (capped at `keepAliveInterval` so keep-alives are never late).
        public var retryBase: Duration = .milliseconds(250)
        public var retryCap: Duration = .seconds(10)
        /// The log repeats while holding, with backoff from one line at once up to one a minute.
        public var logCap: Duration = .seconds(60)

        public init(ackWait: Duration) {
            keepAliveInterval = ackWait / 3
        }
    }

    public enum Action: Sendable, Equatable {
        /// Run the transaction again after `delay` (a few milliseconds).
        case retry(after: Duration)
        /// Too many conflicts in a row: settle the messages as retry-later (nak with delay).
        case giveUp
        /// Hold: wait `wait`, then try again. `keepAlive`: send `+WPI` to every held message now.
        /// `reconnect`: open a new session first. `log`: say why (again) now.
        case hold(wait: Duration, keepAlive: Bool, reconnect: Bool, log: Bool)
    }

    public let policy: Policy
    public private(set) var conflicts = 0
    /// Since when the batch is held, and why (nil while not holding).
    public private(set) var holdingSince: ContinuousClock.Instant?
    public private(set) var reason: HoldReason?
    private var attempts = 0
    private var lastKeepAlive: ContinuousClock.Instant
    private var nextLog: ContinuousClock.Instant?
    private var logInterval: Duration = .zero

    /// - Parameter start: when the batch was taken (its messages' ack wait started about then).
    public init(policy: Policy, start: ContinuousClock.Instant) {
        self.policy = policy
        lastKeepAlive = start
    }

    public var isHolding: Bool { holdingSince != nil }

    /// An attempt failed with `failure` at `now`. `jitter` in [0, 1) spreads the waits of
    /// workers that fail together.
    public mutating func failed(
        _ failure: DatabaseFailure, at now: ContinuousClock.Instant, jitter: Double
    ) -> Action {
        switch failure {
        case .conflict:
            conflicts += 1
            if conflicts > policy.maxConflictRetries { return .giveUp }
            return .retry(after: .milliseconds(Int64(1 + 19 * jitter)) * conflicts)
        case .unavailable(let reason, let reconnect):
            if holdingSince == nil { holdingSince = now }
            let reasonChanged = self.reason != reason
            self.reason = reason
            var log = false
            if reasonChanged || nextLog.map({ now >= $0 }) ?? true {
                log = true
                logInterval = reasonChanged ? .seconds(1) : min(policy.logCap, logInterval * 2)
                nextLog = now + logInterval
            }
            let keepAlive = now - lastKeepAlive >= policy.keepAliveInterval
            if keepAlive { lastKeepAlive = now }
            let ceiling = min(policy.retryCap, policy.keepAliveInterval, policy.retryBase * (1 << min(attempts, 16)))
            attempts += 1
            // Never sleep past the next keep-alive.
            let untilKeepAlive = policy.keepAliveInterval - (now - lastKeepAlive)
            let wait = min(ceiling * (0.5 + 0.5 * jitter), max(untilKeepAlive, .milliseconds(1)))
            return .hold(wait: wait, keepAlive: keepAlive, reconnect: reconnect, log: log)
        }
    }

    /// The batch applied. Returns how long it was held (nil if it was not).
    public mutating func succeeded(at now: ContinuousClock.Instant) -> Duration? {
        defer {
            holdingSince = nil
            reason = nil
            attempts = 0
            conflicts = 0
        }
        return holdingSince.map { now - $0 }
    }
}
