import Foundation
import PostgresKit

/// One `bandit_state` row of a user, as `banditd stats` and `state reset` show it.
public struct ArmSummary: Sendable, Equatable {
    public var policy: String
    public var source: String
    public var armID: String
    public var n: Int64
    public var rewardSum: Double
    public var updatedAt: Date

    public init(policy: String, source: String, armID: String, n: Int64, rewardSum: Double, updatedAt: Date) {
        self.policy = policy
        self.source = source
        self.armID = armID
        self.n = n
        self.rewardSum = rewardSum
        self.updatedAt = updatedAt
    }

    /// reward_sum / n (nil for n = 0).
    public var meanReward: Double? { n > 0 ? rewardSum / Double(n) : nil }
}

/// A user's logged decisions of one policy and source by how they got their reward
/// (`decisions.reward_origin`, CONTRACT section 8).
public struct DecisionCounts: Sendable, Equatable {
    public var policy: String
    public var source: String
    public var logged: Int
    /// reward_origin = 'event': a joined reward within the window.
    public var rewardedByEvent: Int
    /// reward_origin = 'default': closed with the policy's default reward.
    public var closedByDefault: Int
    /// reward_origin = 'late': closed with the default, then corrected by a late reward.
    public var lateCorrected: Int
    /// reward IS NULL.
    public var open: Int

    public init(
        policy: String, source: String, logged: Int, rewardedByEvent: Int, closedByDefault: Int, lateCorrected: Int,
        open: Int
    ) {
        self.policy = policy
        self.source = source
        self.logged = logged
        self.rewardedByEvent = rewardedByEvent
        self.closedByDefault = closedByDefault
        self.lateCorrected = lateCorrected
        self.open = open
    }
}

extension LearningReads {
    /// The user's state rows (policy and source optional filters), in policy, source, arm order.
    public func armSummaries(user: String, policy: String?, source: String?) throws(PostgresError) -> [ArmSummary] {
        let rows = try connection.query(
            """
            SELECT policy, source, arm_id, n, reward_sum, updated_at FROM bandit_state
            WHERE user_id = $1 AND ($2::text IS NULL OR policy = $2) AND ($3::text IS NULL OR source = $3)
            ORDER BY policy COLLATE "C", source, arm_id COLLATE "C"
            """, [user, policy, source])
        var summaries: [ArmSummary] = []
        for row in rows.rows {
            summaries.append(
                ArmSummary(
                    policy: try row.string(0), source: try row.string(1), armID: try row.string(2), n: try row.int64(3),
                    rewardSum: try row.double(4), updatedAt: try row.date(5)))
        }
        return summaries
    }

    /// The user's decisions counted per policy and source by reward origin.
    public func decisionCounts(user: String, policy: String?, source: String?) throws(PostgresError)
        -> [DecisionCounts]
    {
        let rows = try connection.query(
            """
            SELECT policy, source, count(*),
                   count(*) FILTER (WHERE reward_origin = 'event'),
                   count(*) FILTER (WHERE reward_origin = 'default'),
                   count(*) FILTER (WHERE reward_origin = 'late'),
                   count(*) FILTER (WHERE reward IS NULL)
            FROM decisions
            WHERE user_id = $1 AND ($2::text IS NULL OR policy = $2) AND ($3::text IS NULL OR source = $3)
            GROUP BY policy, source
            ORDER BY policy COLLATE "C", source
            """, [user, policy, source])
        var counts: [DecisionCounts] = []
        for row in rows.rows {
            counts.append(
                DecisionCounts(
                    policy: try row.string(0), source: try row.string(1), logged: try row.int(2),
                    rewardedByEvent: try row.int(3), closedByDefault: try row.int(4), lateCorrected: try row.int(5),
                    open: try row.int(6)))
        }
        return counts
    }
}
