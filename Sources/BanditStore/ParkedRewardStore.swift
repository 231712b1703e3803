import BanditCore
import BanditMath
import Foundation
import PostgresKit

/// A parked reward that must now be dead-lettered, with its message kept whole.
public struct ParkedRewardLetter: Sendable {
    public var eventID: UUID
    public var decisionID: UUID
    public var subject: String
    public var stream: String
    public var streamSequence: UInt64
    public var deliveries: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var reason: RejectionReason
    public var detail: String
}

/// The parked rewards' two background chores (CONTRACT section 3, v1.1), each one transaction
/// that takes its rows `FOR UPDATE SKIP LOCKED`, so several daemons share them without doing
/// anything twice:
///
/// - `joinArrived`: rewards whose decision has been logged since they were parked (the
///   decision's own transaction joins those it sees; this catches the ones it could not, e.g.
///   parked concurrently) are applied exactly like a joined reward, and their rows removed;
/// - `deadLetterDue`: rewards with a verdict (mismatch, already rewarded) and rewards past the
///   wait whose decision never came are handed to `publish` (the caller stores the dead letter
///   and waits for the PubAck); only then are their parked and ledger rows deleted, in the same
///   transaction. A failed publish rolls back: the reward stays parked and is retried.
public struct ParkedRewardStore: Sendable {
    public let policies: PolicyRegistry

    public init(policies: PolicyRegistry) {
        self.policies = policies
    }

    /// Applies up to `limit` parked rewards whose decision is now logged. Returns how many were
    /// applied and how many got a verdict.
    public func joinArrived(limit: Int, on connection: PostgresConnection) throws(PostgresError) -> (
        applied: Int, refused: Int
    ) {
        do {
            let parkedResult = try connection.pipeline([
                PostgresStatement("BEGIN"),
                PostgresStatement(
                    """
                    SELECT p.event_id, p.decision_id, p.user_id, p.source, p.reward
                    FROM parked_rewards AS p
                    WHERE p.verdict IS NULL AND EXISTS (SELECT 1 FROM decisions AS d WHERE d.decision_id = p.decision_id)
                    ORDER BY p.parked_at, p.event_id
                    LIMIT $1
                    FOR UPDATE OF p SKIP LOCKED
                    """, [.int64(Int64(limit))]),
            ])[1]
            var parked: [JoiningReward] = []
            for row in 0..<parkedResult.rowCount {
                parked.append(
                    JoiningReward(
                        eventID: try parkedResult.uuid(row, 0), decisionID: try parkedResult.uuid(row, 1),
                        userID: try parkedResult.text(row, 2), source: try parkedResult.text(row, 3),
                        reward: try parkedResult.double(row, 4)))
            }
            guard !parked.isEmpty else {
                try connection.query("COMMIT")
                return (0, 0)
            }
            let ids = Array(Set(parked.map(\.decisionID))).sorted { $0.lowercased < $1.lowercased }
            let locked = try connection.pipeline([
                StoreStatements.lockDecisions(ids), StoreStatements.lockState(keys: [], decisionsOf: ids),
            ])
            var decisions: [UUID: LoggedDecision] = [:]
            var readKeys: Set<StateKey> = []
            for decision in try StoreStatements.lockedDecisions(locked[0]) {
                decisions[decision.id] = decision
                readKeys.insert(decision.stateKey)
            }
            var stored: [StateKey: StoredArm] = [:]
            for arm in try StoredArm.rows(of: locked[1]) { stored[arm.key] = arm }

            var updates = StateUpdates()
            var rewards: [(decisionID: UUID, eventID: UUID, reward: Double, origin: RewardOrigin)] = []
            var applied: [UUID] = []
            var verdicts: [(eventID: UUID, reason: RejectionReason, detail: String)] = []
            var taken: [UUID: UUID] = [:]
            for reward in parked {
                let decision = decisions[reward.decisionID]
                switch RewardJoin.judge(reward, decision: decision, earlierInBatch: taken[reward.decisionID]) {
                case .onTime:
                    taken[reward.decisionID] = reward.eventID
                    rewards.append((reward.decisionID, reward.eventID, reward.reward, .event))
                    updates.observe(
                        decision!.stateKey, features: decision!.features, reward: reward.reward,
                        at: decision!.occurredAt)
                    applied.append(reward.eventID)
                case .late(let defaultReward):
                    taken[reward.decisionID] = reward.eventID
                    rewards.append((reward.decisionID, reward.eventID, reward.reward, .late))
                    updates.correct(
                        decision!.stateKey, features: decision!.features, by: reward.reward - defaultReward,
                        at: decision!.occurredAt)
                    applied.append(reward.eventID)
                case .rejected(let reason, let detail):
                    verdicts.append((reward.eventID, reason, detail))
                case .decisionMissing:
                    break  // deleted since (retention): the wait will dead-letter it
                }
            }
            var writes = try StoreStatements.writeState(
                updates, stored: stored, knownKeys: readKeys, policies: policies, now: Date()
            ).statements
            if !rewards.isEmpty { writes.append(StoreStatements.rewardDecisions(rewards)) }
            if !applied.isEmpty {
                writes.append(
                    PostgresStatement(
                        "DELETE FROM parked_rewards WHERE event_id = ANY($1::uuid[])", [.uuidArray(applied)]))
            }
            if !verdicts.isEmpty { writes.append(StoreStatements.parkedVerdicts(verdicts)) }
            _ = try connection.pipeline(writes + [PostgresStatement("COMMIT")])
            return (applied.count, verdicts.count)
        } catch {
            if connection.inTransaction { _ = try? connection.query("ROLLBACK") }
            throw error
        }
    }

    /// Takes up to `limit` parked rewards that must be dead-lettered — every one with a verdict,
    /// and (when `expireWaiting`) those parked longer than `wait` whose decision is still not
    /// logged — hands each to `publish`, and deletes the parked and ledger rows of those it
    /// stored, in one transaction. `publish` returning false (not stored) leaves that reward
    /// parked. Returns the letters stored.
    public func deadLetterDue(
        wait: Duration, expireWaiting: Bool, limit: Int, on connection: PostgresConnection,
        publish: (ParkedRewardLetter) -> Bool
    ) throws(PostgresError) -> [ParkedRewardLetter] {
        do throws(PostgresError) {
            let due = try connection.pipeline([
                PostgresStatement("BEGIN"),
                PostgresStatement(
                    """
                    SELECT p.event_id, p.decision_id, p.subject, p.stream, p.stream_seq, p.deliveries, p.header_names,
                           p.header_values, p.body, p.verdict, p.verdict_detail,
                           extract(epoch FROM now() - p.parked_at)::float8
                    FROM parked_rewards AS p
                    WHERE p.verdict IS NOT NULL
                       OR ($2 AND p.parked_at < now() - make_interval(secs => $1)
                           AND NOT EXISTS (SELECT 1 FROM decisions AS d WHERE d.decision_id = p.decision_id))
                    ORDER BY p.parked_at, p.event_id
                    LIMIT $3
                    FOR UPDATE OF p SKIP LOCKED
                    """, [.double(wait.seconds), .bool(expireWaiting), .int64(Int64(limit))]),
            ])[1]
            var stored: [ParkedRewardLetter] = []
            for row in 0..<due.rowCount {
                let names = try due.textArray(row, 6)
                let values = try due.textArray(row, 7)
                let verdict = try due.optionalText(row, 9)
                let decisionID = try due.uuid(row, 1)
                let parkedSeconds = Int(try due.double(row, 11))
                let waitedDetail =
                    "decision \(decisionID.lowercased) not yet seen after \(parkedSeconds) s parked (early_reward_wait_s \(Int(wait.seconds)))"
                let letter = ParkedRewardLetter(
                    eventID: try due.uuid(row, 0), decisionID: decisionID, subject: try due.text(row, 2),
                    stream: try due.text(row, 3), streamSequence: UInt64(try due.int64(row, 4)),
                    deliveries: Int(try due.int64(row, 5)),
                    headers: zip(names, values).map { (name: $0, value: $1) }, body: try due.bytes(row, 8),
                    reason: verdict.map(RejectionReason.init(rawValue:)) ?? .maxDeliveries,
                    detail: try due.optionalText(row, 10) ?? waitedDetail)
                if publish(letter) { stored.append(letter) }
            }
            if !stored.isEmpty {
                let ids = PostgresValue.uuidArray(stored.map(\.eventID))
                _ = try connection.pipeline([
                    PostgresStatement("DELETE FROM parked_rewards WHERE event_id = ANY($1::uuid[])", [ids]),
                    PostgresStatement("DELETE FROM processed_events WHERE event_id = ANY($1::uuid[])", [ids]),
                    PostgresStatement("COMMIT"),
                ])
            } else {
                try connection.query("COMMIT")
            }
            return stored
        } catch {
            if connection.inTransaction { _ = try? connection.query("ROLLBACK") }
            throw error
        }
    }

    /// Parked rewards now (for health and metrics).
    public func count(on connection: PostgresConnection) throws(PostgresError) -> Int {
        Int(try connection.query("SELECT count(*) FROM parked_rewards", values: []).int64(0, 0))
    }
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
