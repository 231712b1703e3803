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
/// skipped and, if that reward commits, no longer open. State rows are taken `SKIP LOCKED` too:
/// a decision whose state row another session holds (a worker held by a lock, an operator's
/// transaction) stays open for the next sweep instead of stalling the closing of every other.
public struct DecisionCloser: Sendable {
    public init() {}

    /// What one slice did.
    public struct Slice: Sendable, Equatable {
        /// Open decisions past their window that this slice took (at most the limit).
        public var examined: Int
        /// Closed with the default reward.
        public var closed: Int
        /// Left open because their state row is locked elsewhere.
        public var busy: [UUID] = []
    }

    /// Closes up to `limit` open decisions of `policy` (which must have a window) that are past
    /// it by the database clock, oldest first, leaving out `skipping` (decisions an earlier
    /// slice of the same sweep found busy, so a locked row cannot hold the sweep at its head).
    public func closeDue(
        policy: PolicyDefinition, limit: Int, skipping: [UUID] = [], policies: PolicyRegistry,
        on connection: PostgresConnection
    )
        throws(PostgresError) -> Slice
    {
        guard let wait = policy.rewardWaitSeconds else { return Slice(examined: 0, closed: 0) }
        do {
            let due = try connection.pipeline([
                PostgresStatement("BEGIN"),
                PostgresStatement(
                    """
                    SELECT decision_id, user_id, source, policy, arm_id, features, occurred_at
                    FROM decisions
                    WHERE policy = $1 AND reward IS NULL AND occurred_at < now() - make_interval(secs => $2)
                      AND decision_id <> ALL($4::uuid[])
                    ORDER BY occurred_at
                    LIMIT $3
                    FOR UPDATE SKIP LOCKED
                    """, [.text(policy.name), .double(Double(wait)), .int64(Int64(limit)), .uuidArray(skipping)]),
            ])[1]
            guard due.rowCount > 0 else {
                try connection.query("COMMIT")
                return Slice(examined: 0, closed: 0)
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
            let examined = decisions.count
            var busyIDs: [UUID] = []
            var keys = Array(Set(decisions.map(\.stateKey))).sorted()
            let lock = StoreStatements.lockState(keys: keys, decisionsOf: [], skipLocked: true)
            var stored: [StateKey: StoredArm] = [:]
            for arm in try StoredArm.rows(of: try connection.query(lock.sql, values: lock.values)) {
                stored[arm.key] = arm
            }
            // A key not returned is either new (no row yet) or locked elsewhere: a plain read
            // (it never waits for a row lock) tells them apart.
            let unlocked = keys.filter { stored[$0] == nil }
            if !unlocked.isEmpty {
                let read = StoreStatements.lockState(keys: unlocked, decisionsOf: [], locking: false)
                let busy = Set(try StoredArm.rows(of: try connection.query(read.sql, values: read.values)).map(\.key))
                if !busy.isEmpty {
                    busyIDs = decisions.filter { busy.contains($0.stateKey) }.map(\.id)
                    decisions.removeAll { busy.contains($0.stateKey) }
                    keys.removeAll { busy.contains($0) }
                }
            }
            guard !decisions.isEmpty else {
                try connection.query("COMMIT")
                return Slice(examined: examined, closed: 0, busy: busyIDs)
            }
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
            return Slice(examined: examined, closed: decisions.count, busy: busyIDs)
        } catch {
            if connection.inTransaction { _ = try? connection.query("ROLLBACK") }
            throw error
        }
    }
}
