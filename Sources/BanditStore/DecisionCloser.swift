import BanditCore
import BanditMath
import Foundation
import PostgresKit

/// Closes decisions whose reward wait window has passed with their policy's default reward
/// (CONTRACT section 8): exactly the update a joined reward r = default would make, on the
/// decision's own state row, and `reward = default`, `reward_origin = 'default'`, `rewarded_at`
/// on the decision row — the closing and its effect in one transaction, so a crash closes
/// nothing or everything. Decisions are taken `FOR UPDATE SKIP LOCKED`: several daemons close
/// disjoint sets, never the same decision twice; a decision a reward is joining right now is
/// skipped and, if that reward commits, no longer open.
public struct DecisionCloser: Sendable {
    public init() {}

    /// Closes up to `limit` open decisions of `policy` (which must have a window) that are past
    /// it by the database clock, oldest first. Returns how many it closed.
    public func closeDue(
        policy: PolicyDefinition, limit: Int, policies: PolicyRegistry, on connection: PostgresConnection
    )
        throws(PostgresError) -> Int
    {
        guard let wait = policy.rewardWaitSeconds else { return 0 }
        do {
            let due = try connection.pipeline([
                PostgresStatement("BEGIN"),
                PostgresStatement(
                    """
                    SELECT decision_id, user_id, source, policy, arm_id, features, occurred_at
                    FROM decisions
                    WHERE policy = $1 AND reward IS NULL AND occurred_at < now() - make_interval(secs => $2)
                    ORDER BY occurred_at
                    LIMIT $3
                    FOR UPDATE SKIP LOCKED
                    """, [.text(policy.name), .double(Double(wait)), .int64(Int64(limit))]),
            ])[1]
            guard due.rowCount > 0 else {
                try connection.query("COMMIT")
                return 0
            }
            var decisions: [LoggedDecision] = []
            for row in 0..<due.rowCount {
                decisions.append(
                    LoggedDecision(
                        id: try due.uuid(row, 0), userID: try due.text(row, 1), source: try due.text(row, 2),
                        policy: try due.text(row, 3), armID: try due.text(row, 4),
                        features: try due.doubleArray(row, 5),
                        occurredAt: try due.timestamp(row, 6)))
            }
            let keys = Array(Set(decisions.map(\.stateKey))).sorted()
            let locked = try connection.query(
                StoreStatements.lockState(keys: keys, decisionsOf: []).sql,
                values: StoreStatements.lockState(keys: keys, decisionsOf: []).values)
            var stored: [StateKey: StoredArm] = [:]
            for arm in try StoredArm.rows(of: locked) { stored[arm.key] = arm }
            var updates = StateUpdates()
            for decision in decisions {
                updates.observe(
                    decision.stateKey, features: decision.features, reward: policy.defaultReward,
                    at: decision.occurredAt)
            }
            var writes = try StoreStatements.writeState(
                updates, stored: stored, knownKeys: Set(keys), policies: policies, now: Date()
            ).statements
            // The value used is kept on the row: a later change of the policy's default does not
            // rewrite history, and a late reward corrects exactly this value.
            writes.append(
                PostgresStatement(
                    """
                    UPDATE decisions SET reward = $2, reward_origin = 'default', rewarded_at = now()
                    WHERE decision_id = ANY($1::uuid[]) AND reward IS NULL
                    """, [.uuidArray(decisions.map(\.id)), .double(policy.defaultReward)]))
            _ = try connection.pipeline(writes + [PostgresStatement("COMMIT")])
            return decisions.count
        } catch {
            if connection.inTransaction { _ = try? connection.query("ROLLBACK") }
            throw error
        }
    }
}
