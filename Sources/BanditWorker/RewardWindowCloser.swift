import BanditCore
import BanditStore
import Foundation
import Logging
import PostgresKit

/// The background job of the reward loop (CONTRACT section 8): every `interval`, for each policy
/// with a reward wait window, closes the decisions past it with the policy's default reward,
/// slice after slice, oldest first. Every daemon runs one; `FOR UPDATE SKIP LOCKED` shares the
/// decisions, and each closing commits with its effect, so no decision is closed twice — across
/// daemons and crashes. It has its own connection, so a worker held by an outage does not stop
/// it. Blocks its thread in `run`.
public final class RewardWindowCloser {
    public struct Configuration: Sendable {
        public var databaseURL: String
        public var policies: PolicyRegistry
        /// Between sweeps; a decision is closed within about this much (plus one slice's time)
        /// after its window passes. CONTRACT section 8 asks for 15 s.
        public var interval: Duration
        public var slice: Int
        public var statementTimeout: Duration

        public init(
            databaseURL: String, policies: PolicyRegistry, interval: Duration = .seconds(5), slice: Int = 500,
            statementTimeout: Duration = .seconds(10)
        ) {
            self.databaseURL = databaseURL
            self.policies = policies
            self.interval = interval
            self.slice = slice
            self.statementTimeout = statementTimeout
        }
    }

    public static let loop = "reward-window"

    private let configuration: Configuration
    private let observer: any WorkerObserver
    private let logger: Logger
    private let closer = DecisionCloser()
    private let session: JobSession

    public init(configuration: Configuration, observer: any WorkerObserver, logger: Logger) {
        self.configuration = configuration
        // Both timeouts: the job locks rows the workers write.
        session = JobSession(
            databaseURL: configuration.databaseURL, statementTimeout: configuration.statementTimeout,
            lockTimeout: configuration.statementTimeout)
        self.observer = observer
        var logger = logger
        logger[metadataKey: "job"] = "\(Self.loop)"
        self.logger = logger
    }

    /// Whether any configured policy has a window (otherwise the daemon need not run the job).
    public static func isNeeded(for policies: PolicyRegistry) -> Bool {
        policies.policies.contains { $0.rewardWaitSeconds != nil }
    }

    public func run(stop: StopSignal) {
        defer {
            session.reset()
            observer.loopEnded(Self.loop)
        }
        var failures = 0
        repeat {
            observer.loopBeat(Self.loop)
            do {
                try sweep(stop: stop)
                if failures > 0 { logger.notice("closing decisions by their reward window works again") }
                failures = 0
            } catch {
                failures += 1
                if DatabaseFailure(error) != .conflict {
                    session.reset()
                }
                if failures.nonzeroBitCount == 1 {
                    logger.error(
                        "closing decisions past their reward window failed; retrying",
                        metadata: ["error": "\(error)", "failures": "\(failures)"])
                }
            }
        } while !stop.sleep(configuration.interval)
    }

    /// One sweep over every policy with a window. A policy whose slice fails does not keep the
    /// others from closing; the first failure is thrown once every policy had its turn.
    func sweep(stop: StopSignal) throws(PostgresError) {
        var firstFailure: PostgresError?
        for policy in configuration.policies.policies where policy.rewardWaitSeconds != nil {
            do throws(PostgresError) {
                try sweep(policy, stop: stop)
            } catch {
                if DatabaseFailure(error) != .conflict {
                    session.reset()
                }
                firstFailure = firstFailure ?? error
            }
        }
        if let firstFailure { throw firstFailure }
    }

    private func sweep(_ policy: PolicyDefinition, stop: StopSignal) throws(PostgresError) {
        var busy: [UUID] = []
        while !stop.isRequested {
            let connection = try session.connected()
            let slice = try closer.closeDue(
                policy: policy, limit: configuration.slice, skipping: busy, policies: configuration.policies,
                on: connection)
            busy += slice.busy
            observer.loopBeat(Self.loop)
            if slice.closed > 0 {
                observer.rewardLoop(closedByDefault: slice.closed, lateCorrected: 0)
                logger.debug(
                    "decisions closed with the default reward",
                    metadata: ["policy": "\(policy.name)", "closed": "\(slice.closed)", "busy": "\(slice.busy.count)"])
            }
            // A short slice was the last. Each full one closed some or found new busy ones (left
            // out of the next), so the sweep ends.
            if slice.examined < configuration.slice { break }
        }
    }

}
