import BanditMath
import Foundation
import PostgresKit

/// What `report ope` reads for one policy, source and time window.
public struct EvaluationDecisions: Sendable {
    /// Rewarded decisions with logged candidates, ordered by `decision_id`.
    public var interactions: [LoggedInteraction]
    /// Decisions of the window without a reward (still open).
    public var withoutReward: Int
    /// Rewarded decisions of the window logged without `candidates`.
    public var withoutCandidates: Int
}

extension LearningReads {
    /// The decisions `report ope` evaluates: `policy` and `source` only — a prod evaluation never
    /// reads a synthetic or shadow row — with `since ≤ occurred_at < until` (either bound
    /// optional), and only `users`' decisions when given (a planted world's agents). One snapshot (REPEATABLE READ, read only), so the counts and the rows agree
    /// while daemons write.
    public func evaluationDecisions(
        policy: String, source: String, since: Date?, until: Date?, users: [String]? = nil
    ) throws(PostgresError) -> EvaluationDecisions {
        let binds = [
            policy, source, since.map(PostgresText.timestamp), until.map(PostgresText.timestamp),
            users.map { PostgresText.array($0) },
        ]
        return try connection.withTransaction(isolation: .repeatableRead) { connection throws(PostgresError) in
            try connection.query("SET TRANSACTION READ ONLY")
            let counts = try connection.query(
                """
                SELECT count(*) FILTER (WHERE reward IS NULL),
                       count(*) FILTER (WHERE reward IS NOT NULL AND candidates IS NULL)
                FROM decisions
                WHERE policy = $1 AND source = $2
                  AND ($3::timestamptz IS NULL OR occurred_at >= $3::timestamptz)
                  AND ($4::timestamptz IS NULL OR occurred_at < $4::timestamptz)
                  AND ($5::text[] IS NULL OR user_id = ANY ($5::text[]))
                """, binds
            ).rows[0]
            let rows = try connection.query(
                """
                SELECT decision_id, user_id, arm_id, features, propensity, candidates, probabilities, reward
                FROM decisions
                WHERE policy = $1 AND source = $2 AND reward IS NOT NULL AND candidates IS NOT NULL
                  AND ($3::timestamptz IS NULL OR occurred_at >= $3::timestamptz)
                  AND ($4::timestamptz IS NULL OR occurred_at < $4::timestamptz)
                  AND ($5::text[] IS NULL OR user_id = ANY ($5::text[]))
                ORDER BY decision_id
                """, binds)
            var interactions: [LoggedInteraction] = []
            interactions.reserveCapacity(rows.rows.count)
            for row in rows.rows {
                let id = try row.uuid(0)
                interactions.append(
                    LoggedInteraction(
                        key: DecisionKey(bytes: withUnsafeBytes(of: id.uuid) { Array($0) }),
                        userID: try row.string(1), armID: try row.string(2), features: try row.doubleArray(3),
                        propensity: try row.double(4), candidates: try row.stringArray(5),
                        probabilities: try row.optionalDoubleArray(6), reward: try row.double(7)))
            }
            return EvaluationDecisions(
                interactions: interactions, withoutReward: try counts.int(0), withoutCandidates: try counts.int(1))
        }
    }
}
