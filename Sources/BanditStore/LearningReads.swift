import BanditMath
import Foundation
import PostgresKit

/// One `bandit_state` row as stored (values unchecked: a row holding NaN is still returned, and
/// the caller scores it at the prior).
public struct StoredArmState: Sendable, Equatable {
    public var userID: String
    public var armID: String
    public var dimension: Int
    public var a: [Double]
    public var b: [Double]
    public var n: Int64
    public var rewardSum: Double
}

/// A rewarded decision, as off-policy evaluation reads it.
public struct StoredRewardedDecision: Sendable, Equatable {
    public var userID: String
    public var armID: String
    public var features: [Double]
    public var propensity: Double
    public var reward: Double
}

/// A row of the `cell_coverage` view (CONTRACT section 4), or the totals over a filter.
public struct CellCoverage: Sendable, Equatable {
    public var userID: String?
    public var source: String?
    public var cells: Int
    public var tier1Cells: Int
    public var tier2Cells: Int
}

/// The read-only queries of `banditd score` and `banditd report` (no writes, no locks).
public struct LearningReads {
    let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// State rows of the given users (all users when nil) for one policy and source, arms in
    /// UTF-8 byte order, read at `readAt`: a row kept with forgetting has its weighted sums a and b
    /// scaled to that time (CONTRACT section 8; n and reward_sum are raw counts).
    public func armStates(users: [String]?, policy: String, source: String, at readAt: Date = Date())
        throws(PostgresError) -> [StoredArmState]
    {
        let rows = try connection.query(
            """
            SELECT user_id, arm_id, dimension, a, b, n, reward_sum, extract(epoch FROM forgetting_ref)::float8,
                   half_life_s
            FROM bandit_state
            WHERE policy = $1 AND source = $2 AND ($3::text[] IS NULL OR user_id = ANY ($3::text[]))
            ORDER BY user_id COLLATE "C", arm_id COLLATE "C"
            """, [policy, source, users.map { PostgresText.array($0) }])
        var states: [StoredArmState] = []
        for row in rows.rows {
            var a = try row.doubleArray(3)
            var b = try row.doubleArray(4)
            if try row.optionalString(7) != nil, try row.optionalString(8) != nil {
                let factor = Forgetting(halfLife: try row.double(8)).readFactor(
                    reference: try row.double(7), readAt: readAt.timeIntervalSince1970)
                a = a.map { $0 * factor }
                b = b.map { $0 * factor }
            }
            states.append(
                StoredArmState(
                    userID: try row.string(0), armID: try row.string(1), dimension: try row.int(2),
                    a: a, b: b, n: try row.int64(5), rewardSum: try row.double(6)))
        }
        return states
    }

    /// True when the user has any bandit state, decision or routing outcome under `source`.
    public func userIsKnown(_ user: String, source: String) throws(PostgresError) -> Bool {
        let rows = try connection.query(
            """
            SELECT EXISTS (SELECT 1 FROM bandit_state WHERE user_id = $1 AND source = $2)
                OR EXISTS (SELECT 1 FROM decisions WHERE user_id = $1 AND source = $2)
                OR EXISTS (SELECT 1 FROM routing_outcomes WHERE user_id = $1 AND source = $2)
            """, [user, source])
        return try rows.rows[0].bool(0)
    }

    /// Rewarded decisions of the given users for one policy and source.
    public func rewardedDecisions(users: [String], policy: String, source: String) throws(PostgresError)
        -> [StoredRewardedDecision]
    {
        let rows = try connection.query(
            """
            SELECT user_id, arm_id, features, propensity, reward FROM decisions
            WHERE policy = $1 AND source = $2 AND reward IS NOT NULL AND user_id = ANY ($3::text[])
            ORDER BY occurred_at, decision_id
            """, [policy, source, PostgresText.array(users)])
        var decisions: [StoredRewardedDecision] = []
        decisions.reserveCapacity(rows.rows.count)
        for row in rows.rows {
            decisions.append(
                StoredRewardedDecision(
                    userID: try row.string(0), armID: try row.string(1), features: try row.doubleArray(2),
                    propensity: try row.double(3), reward: try row.double(4)))
        }
        return decisions
    }

    /// The `cell_coverage` view's rows, filtered by user and/or source.
    public func cellCoverage(user: String?, source: String?) throws(PostgresError) -> [CellCoverage] {
        let rows = try connection.query(
            """
            SELECT user_id, source, cells, tier1_cells, tier2_cells FROM cell_coverage
            WHERE ($1::text IS NULL OR user_id = $1) AND ($2::text IS NULL OR source = $2)
            ORDER BY user_id COLLATE "C", source
            """, [user, source])
        var result: [CellCoverage] = []
        for row in rows.rows {
            result.append(
                CellCoverage(
                    userID: try row.string(0), source: try row.string(1), cells: try row.int(2),
                    tier1Cells: try row.int(3), tier2Cells: try row.int(4)))
        }
        return result
    }

    /// The same counts over all rows of the filter together (distinct cells across users: the
    /// sum of the per-user rows counts a cell once per user).
    public func cellCoverageTotal(user: String?, source: String?) throws(PostgresError) -> CellCoverage {
        let rows = try connection.query(
            """
            SELECT count(DISTINCT cell),
                   count(DISTINCT cell) FILTER (WHERE task_type IN ('reasoning', 'code', 'extraction', 'chat')),
                   count(DISTINCT cell) FILTER (WHERE task_type NOT IN ('reasoning', 'code', 'extraction', 'chat'))
            FROM routing_outcomes
            WHERE ($1::text IS NULL OR user_id = $1) AND ($2::text IS NULL OR source = $2)
            """, [user, source])
        let row = rows.rows[0]
        return CellCoverage(
            userID: user, source: source, cells: try row.int(0), tier1Cells: try row.int(1),
            tier2Cells: try row.int(2))
    }
}
