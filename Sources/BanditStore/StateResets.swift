import Foundation
import PostgresKit

/// One `state_resets` row: the state rows of one user, policy and source a reset removed.
public struct StateResetRecord: Sendable, Equatable {
    public var resetID: UUID
    public var userID: String
    public var policy: String
    public var source: String
    public var rows: Int64
    public var resetAt: Date
}

/// `banditd state reset` (CONTRACT section 9): deletes a user's `bandit_state` rows and records
/// the reset in `state_resets`, in one transaction.
///
/// Nothing else changes: `processed_events` keeps every applied event, so a redelivered or
/// re-published old event is a ledger duplicate and cannot rebuild the removed state; decisions,
/// routing outcomes and the rest of the user's history stay. Events applied after the reset —
/// new ones — build new state from zero.
public struct StateResets {
    let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// The rows a reset with this filter would remove (nil policy / source: all).
    public func preview(user: String, policy: String?, source: String?) throws(PostgresError) -> [ArmSummary] {
        try LearningReads(connection: connection).armSummaries(user: user, policy: policy, source: source)
    }

    /// Deletes the rows and records one `state_resets` row per (policy, source) removed; returns
    /// the rows removed and the records (both empty when nothing matched: nothing is recorded).
    public func reset(user: String, policy: String?, source: String?) throws(PostgresError)
        -> (removed: [ArmSummary], records: [StateResetRecord])
    {
        try connection.withTransaction { connection throws(PostgresError) in
            let rows = try connection.query(
                """
                WITH removed AS (
                    DELETE FROM bandit_state
                    WHERE user_id = $1 AND ($2::text IS NULL OR policy = $2) AND ($3::text IS NULL OR source = $3)
                    RETURNING policy, source, arm_id, n, reward_sum, updated_at)
                SELECT * FROM removed ORDER BY policy COLLATE "C", source, arm_id COLLATE "C"
                """, [user, policy, source])
            var removed: [ArmSummary] = []
            for row in rows.rows {
                removed.append(
                    ArmSummary(
                        policy: try row.string(0), source: try row.string(1), armID: try row.string(2),
                        n: try row.int64(3), rewardSum: try row.double(4), updatedAt: try row.date(5)))
            }
            var groups: [(policy: String, source: String, rows: Int64)] = []
            for summary in removed {
                if let last = groups.last, last.policy.utf8.elementsEqual(summary.policy.utf8),
                    last.source == summary.source
                {
                    groups[groups.count - 1].rows += 1
                } else {
                    groups.append((summary.policy, summary.source, 1))
                }
            }
            guard !groups.isEmpty else { return ([], []) }
            let ids = groups.map { _ in UUID() }
            let recorded = try connection.query(
                """
                INSERT INTO state_resets (reset_id, user_id, policy, source, rows)
                SELECT id, $2, policy, source, rows
                FROM unnest($1::uuid[], $3::text[], $4::text[], $5::bigint[]) AS r(id, policy, source, rows)
                RETURNING reset_at
                """,
                [
                    PostgresText.array(ids), user, PostgresText.array(groups.map(\.policy)),
                    PostgresText.array(groups.map(\.source)), PostgresText.array(groups.map(\.rows)),
                ])
            // One statement, one transaction: every row has the same reset_at (now()).
            let resetAt = try recorded.rows[0].date(0)
            let records = zip(ids, groups).map {
                StateResetRecord(
                    resetID: $0, userID: user, policy: $1.policy, source: $1.source, rows: $1.rows, resetAt: resetAt)
            }
            return (removed, records)
        }
    }
}
