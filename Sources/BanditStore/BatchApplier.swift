import BanditCore
import BanditMath
import Foundation
import PostgresKit

/// One valid event of a batch, with where it came from (for the ledger).
public struct BatchItem: Sendable {
    public var event: Event
    public var subject: String
    public var stream: String
    public var streamSequence: UInt64

    public init(event: Event, subject: String, stream: String, streamSequence: UInt64) {
        self.event = event
        self.subject = subject
        self.stream = stream
        self.streamSequence = streamSequence
    }
}

/// What applying one item did.
public enum ApplyOutcome: Sendable, Equatable {
    case applied
    /// Its event_id was in the ledger already (a redelivery or a re-publish): no second effect.
    case duplicate
    /// It can never apply: dead-letter it.
    case rejected(RejectionReason, detail: String)
    /// It may apply later (its decision is not yet seen): redeliver it.
    case retryLater(detail: String)
}

/// Applies a batch of valid events in one transaction with set-based statements (arrays bound as
/// parameters and `unnest`), never one round trip per event. See CONTRACT section 2 for the
/// effects and DESIGN.md "One message's path".
///
/// The ledger (`processed_events`) decides what is new: its insert `ON CONFLICT DO NOTHING
/// RETURNING` is authoritative even when two daemons race on the same event. Events that then
/// cannot apply (a reward whose decision is missing, mismatched or already rewarded; a second
/// decision with a known decision_id) are taken out of the ledger again before commit.
public struct BatchApplier: Sendable {
    public init() {}

    /// Runs the whole batch in one transaction and returns one outcome per item, in order.
    /// Throws `PostgresError` when the transaction fails; nothing is committed then.
    public func apply(_ items: [BatchItem], on connection: PostgresConnection) throws(PostgresError) -> [ApplyOutcome] {
        guard !items.isEmpty else { return [] }
        return try connection.withTransaction { connection throws(PostgresError) in
            try applyInTransaction(items, connection)
        }
    }

    private func applyInTransaction(_ items: [BatchItem], _ connection: PostgresConnection) throws(PostgresError)
        -> [ApplyOutcome]
    {
        // The first occurrence of an event_id in the batch stands for all of them.
        var firstIndex: [UUID: Int] = [:]
        var representatives: [Int] = []
        for (index, item) in items.enumerated() where firstIndex[item.event.eventID] == nil {
            firstIndex[item.event.eventID] = index
            representatives.append(index)
        }

        // 1. Ledger: which events are new.
        let inserted = try connection.query(
            """
            INSERT INTO processed_events (event_id, subject, stream, stream_seq)
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[])
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id
            """,
            [
                .uuidArray(representatives.map { items[$0].event.eventID }),
                .textArray(representatives.map { items[$0].subject }),
                .textArray(representatives.map { items[$0].stream }),
                .int64Array(representatives.map { Int64(items[$0].streamSequence) }),
            ])
        let newIDs = Set(try inserted.rows.map { row throws(PostgresError) in try row.uuid(0) })
        var outcomes: [UUID: ApplyOutcome] = [:]
        for index in representatives where !newIDs.contains(items[index].event.eventID) {
            outcomes[items[index].event.eventID] = .duplicate
        }
        let fresh = representatives.map { items[$0].event }.filter { newIDs.contains($0.eventID) }

        // 2. Decisions whose decision_id is already logged (by another event) cannot be logged again.
        let decisions = fresh.compactMap { event -> Decision? in
            if case .decision(let decision) = event { return decision }
            return nil
        }
        if !decisions.isEmpty {
            let existing = try connection.query(
                "SELECT decision_id, event_id FROM decisions WHERE decision_id = ANY($1::uuid[])",
                [.uuidArray(decisions.map(\.decisionID))])
            var loggedBy: [UUID: UUID] = [:]
            for row in existing.rows { loggedBy[try row.uuid(0)] = try row.uuid(1) }
            var seenInBatch: Set<UUID> = []
            for decision in decisions {
                if let other = loggedBy[decision.decisionID] {
                    outcomes[decision.eventID] = .rejected(
                        .decisionDuplicate,
                        detail:
                            "decision_id \(decision.decisionID.lowercased) is already logged by event \(other.lowercased)"
                    )
                } else if !seenInBatch.insert(decision.decisionID).inserted {
                    outcomes[decision.eventID] = .rejected(
                        .decisionDuplicate,
                        detail: "decision_id \(decision.decisionID.lowercased) appears twice in one batch")
                }
            }
        }

        // 3. Rewards that join a logged decision: lock the decisions (sorted: a stable lock order).
        var joinedUpdates: [(reward: Reward, decision: JoinedDecision)] = []
        let joiningRewards = fresh.compactMap { event -> (Reward, UUID)? in
            if case .reward(let reward) = event, case .decision(let id) = reward.target { return (reward, id) }
            return nil
        }
        if !joiningRewards.isEmpty {
            let ids = Array(Set(joiningRewards.map(\.1))).sorted { $0.lowercased < $1.lowercased }
            let locked = try connection.query(
                """
                SELECT decision_id, user_id, source, policy, arm_id, features::text, rewarded_event_id
                FROM decisions WHERE decision_id = ANY($1::uuid[])
                ORDER BY decision_id FOR UPDATE
                """,
                [.uuidArray(ids)])
            var byID: [UUID: JoinedDecision] = [:]
            for row in locked.rows {
                let decision = JoinedDecision(
                    id: try row.uuid(0), userID: try row.string(1), source: try row.string(2),
                    policy: try row.string(3),
                    armID: try row.string(4), features: try row.doubleArray(5),
                    rewardedBy: try row.optionalUUID(6))
                byID[decision.id] = decision
            }
            var rewardedInBatch: [UUID: UUID] = [:]
            for (reward, decisionID) in joiningRewards {
                guard let decision = byID[decisionID] else {
                    outcomes[reward.eventID] = .retryLater(
                        detail: "decision \(decisionID.lowercased) not yet seen")
                    continue
                }
                if decision.userID != reward.userID || decision.source != reward.source.rawValue {
                    outcomes[reward.eventID] = .rejected(
                        .decisionMismatch,
                        detail:
                            "decision \(decisionID.lowercased) belongs to user_id/source \(decision.userID)/\(decision.source), the reward says \(reward.userID)/\(reward.source.rawValue)"
                    )
                } else if let earlier = decision.rewardedBy ?? rewardedInBatch[decisionID] {
                    outcomes[reward.eventID] = .rejected(
                        .decisionAlreadyRewarded,
                        detail: "decision \(decisionID.lowercased) was already rewarded by event \(earlier.lowercased)")
                } else {
                    rewardedInBatch[decisionID] = reward.eventID
                    joinedUpdates.append((reward, decision))
                }
            }
        }

        // 4. Whatever cannot apply leaves the ledger again.
        let notApplied = fresh.map(\.eventID).filter { outcomes[$0] != nil }
        if !notApplied.isEmpty {
            try connection.execute(
                "DELETE FROM processed_events WHERE event_id = ANY($1::uuid[])", [.uuidArray(notApplied)])
        }
        let applying = fresh.filter { outcomes[$0.eventID] == nil }

        // 5. Effects.
        try applyEffects(applying, joinedUpdates: joinedUpdates, connection)
        for event in applying { outcomes[event.eventID] = .applied }

        return items.enumerated().map { index, item in
            let outcome = outcomes[item.event.eventID] ?? .duplicate
            // A later copy of an event in the same batch is a duplicate of the first one's effect.
            if firstIndex[item.event.eventID] != index && outcome == .applied { return .duplicate }
            return outcome
        }
    }

    private func applyEffects(
        _ events: [Event], joinedUpdates: [(reward: Reward, decision: JoinedDecision)], _ connection: PostgresConnection
    ) throws(PostgresError) {
        var stateDeltas = ArmStatisticsBatch<StateKey>()
        var decisions: [Decision] = []
        var routings: [RoutingOutcome] = []
        var syncs: [StateKey.UserSource: TaskSynced] = [:]
        var tips: [TipFeedback] = []
        for event in events {
            switch event {
            case .decision(let decision):
                decisions.append(decision)
            case .reward(let reward):
                if case .inline(let policy, let armID, let features) = reward.target {
                    stateDeltas.add(
                        key: StateKey(
                            userID: reward.userID, policy: policy, source: reward.source.rawValue, armID: armID),
                        features: features, reward: reward.reward)
                }
            case .routing(let routing):
                routings.append(routing)
                if let update = routing.banditUpdate {
                    stateDeltas.add(
                        key: StateKey(
                            userID: routing.userID, policy: update.policy, source: routing.source.rawValue,
                            armID: routing.model),
                        features: update.features, reward: routing.reward)
                }
            case .taskSynced(let sync):
                // Only the newest per (user, source) can win; the upsert may touch a row once.
                let key = StateKey.UserSource(userID: sync.userID, source: sync.source.rawValue)
                if let current = syncs[key], current.occurredAt >= sync.occurredAt { continue }
                syncs[key] = sync
            case .tipFeedback(let tip):
                tips.append(tip)
            }
        }
        for (reward, decision) in joinedUpdates {
            stateDeltas.add(
                key: StateKey(
                    userID: decision.userID, policy: decision.policy, source: decision.source, armID: decision.armID),
                features: decision.features, reward: reward.reward)
        }

        if !decisions.isEmpty { try insertDecisions(decisions, connection) }
        if !joinedUpdates.isEmpty {
            try connection.execute(
                """
                UPDATE decisions AS d SET rewarded_event_id = t.event_id, reward = t.reward, reward_origin = 'event',
                                          rewarded_at = now()
                FROM unnest($1::uuid[], $2::uuid[], $3::float8[]) AS t(decision_id, event_id, reward)
                WHERE d.decision_id = t.decision_id
                """,
                [
                    .uuidArray(joinedUpdates.map(\.decision.id)), .uuidArray(joinedUpdates.map(\.reward.eventID)),
                    .doubleArray(joinedUpdates.map(\.reward.reward)),
                ])
        }
        if !stateDeltas.isEmpty { try upsertState(stateDeltas.deltas, connection) }
        if !routings.isEmpty { try insertRoutings(routings, connection) }
        if !syncs.isEmpty {
            let rows = syncs.values.sorted { ($0.userID.utf8.lexicographicallyPrecedes($1.userID.utf8)) }
            try connection.execute(
                """
                INSERT INTO user_sync AS s (user_id, source, task_count, last_sync_at)
                SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[])
                ON CONFLICT (user_id, source) DO UPDATE
                SET task_count = EXCLUDED.task_count, last_sync_at = EXCLUDED.last_sync_at
                WHERE s.last_sync_at < EXCLUDED.last_sync_at
                """,
                [
                    .textArray(rows.map(\.userID)), .textArray(rows.map(\.source.rawValue)),
                    .int64Array(rows.map { Int64($0.taskCount) }), .timestampArray(rows.map(\.occurredAt)),
                ])
        }
        if !tips.isEmpty {
            try connection.execute(
                """
                INSERT INTO tip_feedback (event_id, user_id, tip_id, action, source, occurred_at)
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
                ON CONFLICT (event_id) DO NOTHING
                """,
                [
                    .uuidArray(tips.map(\.eventID)), .textArray(tips.map(\.userID)), .textArray(tips.map(\.tipID)),
                    .textArray(tips.map(\.action.rawValue)), .textArray(tips.map(\.source.rawValue)),
                    .timestampArray(tips.map(\.occurredAt)),
                ])
        }
    }

    private func insertDecisions(_ decisions: [Decision], _ connection: PostgresConnection) throws(PostgresError) {
        let features: [String?] = decisions.map { PostgresText.array($0.features) }
        let candidates: [String?] = decisions.map { decision -> String? in
            guard let candidates = decision.candidates else { return nil }
            return PostgresText.array(candidates)
        }
        let probabilities: [String?] = decisions.map { decision -> String? in
            guard let probabilities = decision.probabilities else { return nil }
            return PostgresText.array(probabilities)
        }
        let explored: [Bool?] = decisions.map(\.explored)
        let binds: [StoreBind] = [
            .uuidArray(decisions.map(\.decisionID)), .uuidArray(decisions.map(\.eventID)),
            .textArray(decisions.map(\.userID)), .textArray(decisions.map(\.policy)),
            .textArray(decisions.map(\.policyVersion)), .textArray(decisions.map(\.armID)),
            .doubleArray(decisions.map(\.propensity)), .nestedArrays(features), .nestedArrays(candidates),
            .nestedArrays(probabilities), .optionalBoolArray(explored),
            .textArray(decisions.map(\.source.rawValue)), .timestampArray(decisions.map(\.occurredAt)),
        ]
        let inserted = try connection.query(
            """
            INSERT INTO decisions (decision_id, event_id, user_id, policy, policy_version, arm_id, propensity,
                                   features, candidates, probabilities, explored, source, occurred_at)
            SELECT t.decision_id, t.event_id, t.user_id, t.policy, t.policy_version, t.arm_id, t.propensity,
                   t.features::float8[], t.candidates::text[], t.probabilities::float8[], t.explored, t.source,
                   t.occurred_at
            FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[],
                        $8::text[], $9::text[], $10::text[], $11::boolean[], $12::text[], $13::timestamptz[])
                 AS t(decision_id, event_id, user_id, policy, policy_version, arm_id, propensity, features,
                      candidates, probabilities, explored, source, occurred_at)
            ON CONFLICT (decision_id) DO NOTHING
            RETURNING decision_id
            """,
            binds)
        guard inserted.rows.count == decisions.count else {
            // Another daemon logged one of these decision_ids under another event since step 2:
            // retry the whole batch, which then rejects it as decision.duplicate.
            throw PostgresError.retryableConflict(
                "a decision_id of this batch was logged concurrently by another event")
        }
    }

    private func upsertState(_ deltas: [(key: StateKey, delta: ArmStatistics)], _ connection: PostgresConnection)
        throws(PostgresError)
    {
        // Rows go in key order (deltas are sorted): every daemon locks bandit_state rows in the
        // same order, so concurrent batches cannot deadlock. Element-wise sums keep the update
        // commutative; a dimension change would pad with NULLs, which a CHECK rejects.
        let a: [String?] = deltas.map { PostgresText.array($0.delta.a) }
        let b: [String?] = deltas.map { PostgresText.array($0.delta.b) }
        let binds: [StoreBind] = [
            .textArray(deltas.map(\.key.userID)), .textArray(deltas.map(\.key.policy)),
            .textArray(deltas.map(\.key.source)), .textArray(deltas.map(\.key.armID)),
            .int64Array(deltas.map { Int64($0.delta.dimension) }), .nestedArrays(a), .nestedArrays(b),
            .int64Array(deltas.map(\.delta.n)), .doubleArray(deltas.map(\.delta.rewardSum)),
        ]
        try connection.execute(
            """
            INSERT INTO bandit_state AS s (user_id, policy, source, arm_id, dimension, a, b, n, reward_sum, updated_at)
            SELECT t.user_id, t.policy, t.source, t.arm_id, t.dimension, t.a::float8[], t.b::float8[], t.n,
                   t.reward_sum, now()
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[],
                        $8::bigint[], $9::float8[]) WITH ORDINALITY
                 AS t(user_id, policy, source, arm_id, dimension, a, b, n, reward_sum, ord)
            ORDER BY t.ord
            ON CONFLICT (user_id, policy, source, arm_id) DO UPDATE SET
                dimension = EXCLUDED.dimension,
                a = ARRAY(SELECT x + y FROM unnest(s.a, EXCLUDED.a) WITH ORDINALITY AS v(x, y, i) ORDER BY i),
                b = ARRAY(SELECT x + y FROM unnest(s.b, EXCLUDED.b) WITH ORDINALITY AS v(x, y, i) ORDER BY i),
                n = s.n + EXCLUDED.n,
                reward_sum = s.reward_sum + EXCLUDED.reward_sum,
                updated_at = now()
            """,
            binds)
    }

    private func insertRoutings(_ routings: [RoutingOutcome], _ connection: PostgresConnection) throws(PostgresError) {
        let completed: [Bool?] = routings.map(\.completed)
        let binds: [StoreBind] = [
            .uuidArray(routings.map(\.eventID)), .uuidArray(routings.map(\.inferenceID)),
            .textArray(routings.map(\.userID)), .textArray(routings.map(\.taskType.rawValue)),
            .textArray(routings.map(\.taskTypeSource.rawValue)), .textArray(routings.map(\.policyVersion)),
            .textArray(routings.map(\.model)), .textArray(routings.map(\.provider)),
            .textArray(routings.map(\.constraintBand.rawValue)), .textArray(routings.map(\.cell)),
            .doubleArray(routings.map(\.reward)), .doubleArray(routings.map(\.latencyMs)),
            .doubleArray(routings.map(\.costUSD)), .optionalBoolArray(completed),
            .textArray(routings.map(\.source.rawValue)), .timestampArray(routings.map(\.occurredAt)),
        ]
        try connection.execute(
            """
            INSERT INTO routing_outcomes (event_id, inference_id, user_id, task_type, task_type_source, policy_version,
                                          model, provider, constraint_band, cell, reward, latency_ms, cost_usd,
                                          completed, source, occurred_at)
            SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                 $8::text[], $9::text[], $10::text[], $11::float8[], $12::float8[], $13::float8[],
                                 $14::boolean[], $15::text[], $16::timestamptz[])
            ON CONFLICT (event_id) DO NOTHING
            """,
            binds)
    }
}

/// A logged decision as a reward joins it.
struct JoinedDecision: Sendable {
    var id: UUID
    var userID: String
    var source: String
    var policy: String
    var armID: String
    var features: [Double]
    var rewardedBy: UUID?
}

/// The primary key of `bandit_state`. Strings compare as UTF-8 bytes, as PostgreSQL's text
/// equality does (Swift's `==` would merge canonically equivalent ids into one row).
struct StateKey: Hashable, Comparable, Sendable {
    var userID: String
    var policy: String
    var source: String
    var armID: String

    struct UserSource: Hashable {
        var userID: String
        var source: String

        static func == (lhs: UserSource, rhs: UserSource) -> Bool {
            lhs.userID.utf8.elementsEqual(rhs.userID.utf8) && lhs.source.utf8.elementsEqual(rhs.source.utf8)
        }

        func hash(into hasher: inout Hasher) {
            for byte in userID.utf8 { hasher.combine(byte) }
            hasher.combine(0xFF as UInt8)
            for byte in source.utf8 { hasher.combine(byte) }
        }
    }

    static func == (lhs: StateKey, rhs: StateKey) -> Bool {
        lhs.userID.utf8.elementsEqual(rhs.userID.utf8) && lhs.policy.utf8.elementsEqual(rhs.policy.utf8)
            && lhs.source.utf8.elementsEqual(rhs.source.utf8) && lhs.armID.utf8.elementsEqual(rhs.armID.utf8)
    }

    func hash(into hasher: inout Hasher) {
        for field in [userID, policy, source, armID] {
            var field = field
            field.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            hasher.combine(0xFF as UInt8)  // never in UTF-8: separates the fields
        }
    }

    static func < (lhs: StateKey, rhs: StateKey) -> Bool {
        // Field by field, without building arrays: this runs in the sort of every batch.
        if !lhs.userID.utf8.elementsEqual(rhs.userID.utf8) {
            return lhs.userID.utf8.lexicographicallyPrecedes(rhs.userID.utf8)
        }
        if !lhs.policy.utf8.elementsEqual(rhs.policy.utf8) {
            return lhs.policy.utf8.lexicographicallyPrecedes(rhs.policy.utf8)
        }
        if !lhs.source.utf8.elementsEqual(rhs.source.utf8) {
            return lhs.source.utf8.lexicographicallyPrecedes(rhs.source.utf8)
        }
        return lhs.armID.utf8.lexicographicallyPrecedes(rhs.armID.utf8)
    }
}

extension UUID {
    var lowercased: String { uuidString.lowercased() }
}
