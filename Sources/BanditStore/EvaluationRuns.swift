import Foundation
import PostgresKit

/// One `evaluation_runs` row (CONTRACT section 9).
public struct EvaluationRun: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case ope
        case convergence
    }

    public var runID: UUID
    public var kind: Kind
    public var policy: String
    public var candidate: String?
    public var source: String
    public var windowStart: Date?
    public var windowEnd: Date?
    public var n: Int
    /// The estimates as a JSON object (text).
    public var estimates: String
    public var passed: Bool
    /// The command's whole JSON output (text).
    public var report: String

    public init(
        runID: UUID, kind: Kind, policy: String, candidate: String?, source: String, windowStart: Date?,
        windowEnd: Date?, n: Int, estimates: String, passed: Bool, report: String
    ) {
        self.runID = runID
        self.kind = kind
        self.policy = policy
        self.candidate = candidate
        self.source = source
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.n = n
        self.estimates = estimates
        self.passed = passed
        self.report = report
    }
}

/// Records `report ope` and `report convergence` runs.
public struct EvaluationRuns {
    let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Inserts the run; returns its `created_at`.
    @discardableResult
    public func record(_ run: EvaluationRun) throws(PostgresError) -> Date {
        let rows = try connection.query(
            """
            INSERT INTO evaluation_runs
                (run_id, kind, policy, candidate, source, window_start, window_end, n, estimates, passed, report)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11::jsonb)
            RETURNING created_at
            """,
            [
                PostgresText.uuid(run.runID), run.kind.rawValue, run.policy, run.candidate, run.source,
                run.windowStart.map(PostgresText.timestamp), run.windowEnd.map(PostgresText.timestamp), String(run.n),
                run.estimates, run.passed ? "true" : "false", run.report,
            ])
        return try rows.rows[0].date(0)
    }
}
