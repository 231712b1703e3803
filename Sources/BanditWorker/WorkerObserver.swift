import BanditCore
import Foundation

/// What a worker reports as it goes: the daemon feeds health, metrics and the watchdog from it.
/// Called from worker threads; implementations must be cheap and thread-safe.
public protocol WorkerObserver: Sendable {
    /// A loop (`signals-0`, `signals-0-fetch`, a background job) is alive and deciding: every
    /// iteration, every wait inside a hold, every retry. The watchdog's proof of progress.
    func loopBeat(_ loop: String)
    /// The loop ended normally (stop): the watchdog stops watching it.
    func loopEnded(_ loop: String)
    /// A batch was fetched; `redelivered` counts messages with a delivery count above 1.
    func fetched(role: ConsumerRole, count: Int, redelivered: Int)
    /// How a batch's messages were settled, and how long the apply transaction took.
    func settled(role: ConsumerRole, loop: String, outcome: SettledBatch)
    /// The worker `loop` holds its batch since `since` because of `reason`, or no longer holds
    /// (`nil`).
    func holding(role: ConsumerRole, loop: String, since: Date?, reason: HoldReason?)
    /// Messages set aside because their dead letter could not be stored (0: none), and why.
    func deadLettersWaiting(role: ConsumerRole, loop: String, count: Int, failure: String?)
    /// PostgreSQL reachability as a worker last saw it; `reconnected` after an outage ended.
    func database(connected: Bool, reconnected: Bool)
    /// The reward loop (CONTRACT section 8): decisions closed with their default reward, and late
    /// rewards that corrected such a closing.
    func rewardLoop(closedByDefault: Int, lateCorrected: Int)
}

/// The settling of one batch, for metrics.
public struct SettledBatch: Sendable, Equatable {
    public var acked = 0
    public var naked = 0
    /// Rewards kept in PostgreSQL until their decision arrives (acked).
    public var parked = 0
    /// Reasons of the dead letters stored now (a JetStream duplicate is not counted again).
    public var deadLettered: [RejectionReason] = []
    /// Messages whose dead letter could not be stored yet (set aside).
    public var setAside = 0
    public var applySeconds: Double?

    public init() {}
}
