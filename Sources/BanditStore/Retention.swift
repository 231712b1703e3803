import Foundation
import PostgresKit

/// What one retention run did.
public struct RetentionReport: Sendable, Equatable {
    public var ledgerDeleted = 0
    public var decisionsDeleted = 0
    /// False when another daemon held the retention lock: this one did nothing.
    public var ran = false

    public init() {}
}

/// The ledger and decisions retention of CONTRACT section 10.
///
/// - `processed_events` rows older than the ledger retention are deleted. Safe because a
///   message can be redelivered or re-published only while it is in its stream, and every
///   stream's max_age is at least a day shorter than the ledger retention (the daemon refuses to
///   start otherwise): a ledger row outlives every copy of its message.
/// - `decisions` that are closed (rewarded, by event, default or late) and older than the
///   decisions retention are deleted; open ones never. "Older" counts from the later of the
///   decision's event time and its closing (`rewarded_at`): a backfill or a simulated world of
///   past events keeps its decisions for the whole retention after they were closed, not zero
///   days.
///
/// Single-flight among daemons: a run holds a session advisory lock on its own connection
/// (`pg_try_advisory_lock`; another daemon's run skips). Rows go in slices of `slice`, each its
/// own short transaction, followed by a pause of at least `pause` (at most 25,000 rows/s with
/// the defaults, over 2 billion a day: more than this box can ingest) and at least `restFactor`
/// × the slice's own time (at most a third of one backend's time on a slow disk), so the
/// drain's transactions are never queued behind the deletes. While the workers drain a backlog
/// (`backlogged()`), deleting competes with the drain for the same cores, and the job yields
/// like autovacuum's cost delay: the rest is at least `backlogPause` and `backlogRestFactor` ×
/// the slice (at most 2,500 rows/s with the defaults); once the backlog is gone it goes on at
/// full pace. Measured in `make bench` (retention-cost): with a fixed 50 ms pause the deletes ran
/// at ~70,000 rows/s and the drain beside them lost 15–25 % in two runs (−1.4 % in a third).
public struct Retention: Sendable {
    /// "banditd" + 1 in ASCII: the retention job's advisory lock (the migrator's is "banditd").
    public static let advisoryLockKey: Int64 = 0x62_61_6e_64_69_74_65

    public var ledgerRetention: Duration
    public var decisionsRetention: Duration
    public var slice: Int
    public var pause: Duration
    public var restFactor: Double
    public var backlogPause: Duration
    public var backlogRestFactor: Double

    public init(
        ledgerRetention: Duration, decisionsRetention: Duration, slice: Int = 5000,
        pause: Duration = .milliseconds(200), restFactor: Double = 2,
        backlogPause: Duration = .seconds(2), backlogRestFactor: Double = 20
    ) {
        self.ledgerRetention = ledgerRetention
        self.decisionsRetention = decisionsRetention
        self.slice = slice
        self.pause = pause
        self.restFactor = restFactor
        self.backlogPause = backlogPause
        self.backlogRestFactor = backlogRestFactor
    }

    /// The rest after a slice that took `sliceTime`, longer while a backlog drains.
    public func rest(after sliceTime: Duration, backlogged: Bool = false) -> Duration {
        backlogged ? max(backlogPause, sliceTime * backlogRestFactor) : max(pause, sliceTime * restFactor)
    }

    /// One run: both deletions, slice after slice, while `keepGoing()` (the job's stop and
    /// watchdog beat; also asked every 250 ms of a rest). `backlogged()` is asked after each
    /// slice. Records the run in `retention_runs`.
    public func run(
        on connection: PostgresConnection, backlogged: () -> Bool = { false }, keepGoing: () -> Bool
    ) throws(PostgresError) -> RetentionReport {
        /// Rests after a slice; false if `keepGoing()` said stop meanwhile.
        func restAfterSlice(startedAt started: ContinuousClock.Instant) -> Bool {
            let until = ContinuousClock.now + self.rest(after: ContinuousClock.now - started, backlogged: backlogged())
            while ContinuousClock.now < until {
                guard keepGoing() else { return false }
                Thread.sleep(forTimeInterval: min(0.25, (until - ContinuousClock.now).seconds))
            }
            return true
        }
        var report = RetentionReport()
        let locked = try connection.query(
            "SELECT pg_try_advisory_lock($1)", values: [.int64(Self.advisoryLockKey)])
        guard try locked.bool(0, 0) else { return report }
        defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", values: [.int64(Self.advisoryLockKey)]) }
        report.ran = true
        try connection.query(
            """
            INSERT INTO retention_runs (started_at, outcome) VALUES (now(), 'running')
            ON CONFLICT (id) DO UPDATE SET started_at = now(), finished_at = NULL, outcome = 'running',
                ledger_deleted = 0, decisions_deleted = 0
            """, values: [])
        do {
            while keepGoing() {
                let started = ContinuousClock.now
                let deleted = try connection.query(
                    """
                    DELETE FROM processed_events WHERE ctid = ANY(ARRAY(
                        SELECT ctid FROM processed_events
                        WHERE processed_at < now() - make_interval(secs => $1)
                        ORDER BY processed_at LIMIT $2))
                    """, values: [.double(ledgerRetention.seconds), .int64(Int64(slice))]
                ).affectedRows
                report.ledgerDeleted += deleted
                if deleted < slice || !restAfterSlice(startedAt: started) { break }
            }
            while keepGoing() {
                let started = ContinuousClock.now
                let deleted = try connection.query(
                    """
                    DELETE FROM decisions WHERE ctid = ANY(ARRAY(
                        SELECT ctid FROM decisions
                        WHERE reward IS NOT NULL AND occurred_at < now() - make_interval(secs => $1)
                          AND (rewarded_at IS NULL OR rewarded_at < now() - make_interval(secs => $1))
                        LIMIT $2))
                    """, values: [.double(decisionsRetention.seconds), .int64(Int64(slice))]
                ).affectedRows
                report.decisionsDeleted += deleted
                if deleted < slice || !restAfterSlice(startedAt: started) { break }
            }
            try record(report, outcome: keepGoing() ? "ok" : "interrupted", on: connection)
        } catch {
            _ = try? record(
                report, outcome: "failed: \(error.sqlState.map { "SQLSTATE \($0)" } ?? "error")", on: connection)
            throw error
        }
        return report
    }

    private func record(_ report: RetentionReport, outcome: String, on connection: PostgresConnection)
        throws(PostgresError)
    {
        try connection.query(
            """
            UPDATE retention_runs SET finished_at = now(), outcome = $1, ledger_deleted = $2, decisions_deleted = $3
            """,
            values: [.text(outcome), .int64(Int64(report.ledgerDeleted)), .int64(Int64(report.decisionsDeleted))])
    }
}

/// The ledger's size and age, and the last retention run, for health and metrics.
public struct LedgerStatus: Sendable, Equatable {
    /// The planner's estimate (`pg_class.reltuples`); −1 before the table was ever analyzed.
    public var estimatedRows: Int64
    /// Age of the oldest ledger row, in seconds (nil: empty).
    public var oldestAgeSeconds: Double?
    public var lastRunFinishedAt: Date?
    public var lastRunOutcome: String?
    public var lastRunLedgerDeleted: Int64
    public var lastRunDecisionsDeleted: Int64

    public static func read(on connection: PostgresConnection) throws(PostgresError) -> LedgerStatus {
        let result = try connection.query(
            """
            SELECT (SELECT reltuples::bigint FROM pg_class WHERE oid = 'processed_events'::regclass),
                   (SELECT extract(epoch FROM now() - min(processed_at))::float8 FROM processed_events),
                   r.finished_at, r.outcome, coalesce(r.ledger_deleted, 0), coalesce(r.decisions_deleted, 0)
            FROM (SELECT 1) AS one LEFT JOIN retention_runs AS r ON true
            """, values: [])
        return LedgerStatus(
            estimatedRows: try result.int64(0, 0), oldestAgeSeconds: try result.optionalDouble(0, 1),
            lastRunFinishedAt: try result.optionalTimestamp(0, 2), lastRunOutcome: try result.optionalText(0, 3),
            lastRunLedgerDeleted: try result.int64(0, 4), lastRunDecisionsDeleted: try result.int64(0, 5))
    }
}
