import BanditStore
import Foundation
import Logging
import PostgresKit

/// The data lifecycle job (CONTRACT section 10): every `interval` one retention run — old ledger
/// rows and old closed decisions, in slices — unless another daemon's run holds the lock. Beats
/// the watchdog between slices. Blocks its thread in `run`.
public final class RetentionJob {
    public struct Configuration: Sendable {
        public var databaseURL: String
        public var retention: Retention
        public var interval: Duration
        /// The first run comes this long after start (not at once: a restarting fleet would all
        /// try at the same moment).
        public var firstRunAfter: Duration
        public var statementTimeout: Duration
        /// True while the workers drain a backlog: the run then rests longer between slices
        /// (`Retention.backlogPause`), leaving the cores to the drain.
        public var backlogged: @Sendable () -> Bool

        public init(
            databaseURL: String, retention: Retention, interval: Duration = .seconds(600),
            firstRunAfter: Duration = .seconds(30), statementTimeout: Duration = .seconds(10),
            backlogged: @escaping @Sendable () -> Bool = { false }
        ) {
            self.databaseURL = databaseURL
            self.retention = retention
            self.interval = interval
            self.firstRunAfter = firstRunAfter
            self.statementTimeout = statementTimeout
            self.backlogged = backlogged
        }
    }

    public static let loop = "retention"

    private let configuration: Configuration
    private let observer: any WorkerObserver
    private let onRun: @Sendable (RetentionReport, Error?) -> Void
    private let logger: Logger
    private let session: JobSession

    /// - Parameter onRun: called after each run with its report, or the error it ended with.
    public init(
        configuration: Configuration, observer: any WorkerObserver, logger: Logger,
        onRun: @escaping @Sendable (RetentionReport, Error?) -> Void = { _, _ in }
    ) {
        self.configuration = configuration
        session = JobSession(databaseURL: configuration.databaseURL, statementTimeout: configuration.statementTimeout)
        self.observer = observer
        self.onRun = onRun
        var logger = logger
        logger[metadataKey: "job"] = "\(Self.loop)"
        self.logger = logger
    }

    public func run(stop: StopSignal) {
        defer {
            session.reset()
            observer.loopEnded(Self.loop)
        }
        var wait = configuration.firstRunAfter
        while !sleepBeating(wait, stop: stop) {
            wait = configuration.interval
            let started = ContinuousClock.now
            do {
                let connection = try session.connected()
                let report = try configuration.retention.run(on: connection, backlogged: configuration.backlogged) {
                    observer.loopBeat(Self.loop)
                    return !stop.isRequested
                }
                onRun(report, nil)
                if report.ran && report.ledgerDeleted + report.decisionsDeleted > 0 {
                    logger.info(
                        "retention removed old rows",
                        metadata: [
                            "ledger_deleted": "\(report.ledgerDeleted)",
                            "decisions_deleted": "\(report.decisionsDeleted)",
                            "duration_ms": "\((ContinuousClock.now - started).milliseconds)",
                        ])
                }
            } catch {
                session.reset()
                onRun(RetentionReport(), error)
                logger.error("retention run failed; the next run retries", metadata: ["error": "\(error)"])
                wait = min(wait, .seconds(60))
            }
        }
    }

    /// Sleeps `duration` in steps, beating the watchdog; true when stop was requested.
    private func sleepBeating(_ duration: Duration, stop: StopSignal) -> Bool {
        var left = duration
        while left > .zero {
            observer.loopBeat(Self.loop)
            let step = min(left, .seconds(5))
            if stop.sleep(step) { return true }
            left -= step
        }
        return stop.isRequested
    }

}
