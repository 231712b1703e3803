import BanditCore
import BanditMath
import Foundation
import PostgresKit

/// The batch statements, each one column of the batch per binary parameter. Shared by the
/// batch applier and the background jobs (the parked-reward sweeper joins rewards the same way).
enum StoreStatements {
    // MARK: Reads (FOR UPDATE)

    /// Locks decisions (sorted by id: the one lock order of decisions) and reads what a reward
    /// needs. Columns: decision_id, user_id, source, policy, arm_id, features, rewarded_event_id,
    /// reward, reward_origin, occurred_at.
    static func lockDecisions(_ ids: [UUID]) -> PostgresStatement {
        PostgresStatement(
            """
            SELECT decision_id, user_id, source, policy, arm_id, features, rewarded_event_id, reward, reward_origin,
                   occurred_at
            FROM decisions WHERE decision_id = ANY($1::uuid[])
            ORDER BY decision_id FOR UPDATE
            """, [.uuidArray(ids)])
    }

    static func lockedDecisions(_ result: PostgresResult) throws(PostgresError) -> [LoggedDecision] {
        var decisions: [LoggedDecision] = []
        for row in 0..<result.rowCount {
            let originText = try result.optionalText(row, 8)
            decisions.append(
                LoggedDecision(
                    id: try result.uuid(row, 0), userID: try result.text(row, 1), source: try result.text(row, 2),
                    policy: try result.text(row, 3), armID: try result.text(row, 4),
                    features: try result.doubleArray(row, 5), rewardedBy: try result.optionalUUID(row, 6),
                    reward: try result.optionalDouble(row, 7), origin: originText.flatMap(RewardOrigin.init(rawValue:)),
                    occurredAt: try result.timestamp(row, 9)))
        }
        return decisions
    }

    /// Reads the state rows of `keys` and of the decisions `decisionsOf` in binary, locking them
    /// (`FOR UPDATE`, in key order: bytewise, like `StateKey`'s order) when `locking`; without
    /// the lock a write checks each row's version instead. Columns: see `StoredArm.rows(of:)`.
    /// - Parameter skipLocked: leave out rows another session has locked (the closing job: a
    ///   row a held worker locks must not stall closing for everyone else).
    static func lockState(
        keys: [StateKey], decisionsOf decisionIDs: [UUID], locking: Bool = true, skipLocked: Bool = false
    ) -> PostgresStatement {
        let values: [PostgresValue] = [
            .textArray(keys.map(\.userID)), .textArray(keys.map(\.policy)), .textArray(keys.map(\.source)),
            .textArray(keys.map(\.armID)), .uuidArray(decisionIDs),
        ]
        if !locking {
            return PostgresStatement(
                """
                SELECT s.ctid, s.user_id, s.policy, s.source, s.arm_id, s.dimension, s.a, s.b, s.n, s.reward_sum,
                       s.forgetting_ref, s.half_life_s, s.xmin
                FROM (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                      UNION
                      SELECT user_id, policy, source, arm_id FROM decisions WHERE decision_id = ANY($5::uuid[])
                     ) AS k(user_id, policy, source, arm_id)
                JOIN bandit_state AS s
                  ON s.user_id = k.user_id AND s.policy = k.policy AND s.source = k.source AND s.arm_id = k.arm_id
                """, values)
        }
        if skipLocked {
            return PostgresStatement(
                """
                SELECT s.ctid, s.user_id, s.policy, s.source, s.arm_id, s.dimension, s.a, s.b, s.n, s.reward_sum,
                       s.forgetting_ref, s.half_life_s, s.xmin
                FROM (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                      UNION
                      SELECT user_id, policy, source, arm_id FROM decisions WHERE decision_id = ANY($5::uuid[])
                     ) AS k(user_id, policy, source, arm_id)
                JOIN bandit_state AS s
                  ON s.user_id = k.user_id AND s.policy = k.policy AND s.source = k.source AND s.arm_id = k.arm_id
                ORDER BY s.user_id COLLATE "C", s.policy COLLATE "C", s.source COLLATE "C", s.arm_id COLLATE "C"
                FOR UPDATE OF s SKIP LOCKED
                """, values)
        }
        return PostgresStatement(
            """
            SELECT s.ctid, s.user_id, s.policy, s.source, s.arm_id, s.dimension, s.a, s.b, s.n, s.reward_sum,
                   s.forgetting_ref, s.half_life_s, s.xmin
            FROM (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                  UNION
                  SELECT user_id, policy, source, arm_id FROM decisions WHERE decision_id = ANY($5::uuid[])
                 ) AS k(user_id, policy, source, arm_id)
            JOIN bandit_state AS s
              ON s.user_id = k.user_id AND s.policy = k.policy AND s.source = k.source AND s.arm_id = k.arm_id
            ORDER BY s.user_id COLLATE "C", s.policy COLLATE "C", s.source COLLATE "C", s.arm_id COLLATE "C"
            FOR UPDATE OF s
            """, values)
    }

    // MARK: Writes

    /// The state rows after the transaction: each known row (read, or as this lane last wrote
    /// it) with its updates folded in (under the policy's forgetting, if any), written whole.
    /// Keys ascending, so rows are written in the same order by every daemon. An update names
    /// the row's version (`RowVersion`) and its key; if any row changed since it was read, the
    /// statement raises a serialization failure and nothing of the batch commits. A stored row of
    /// another dimension (a policy whose dimension changed) is bad data: the caller isolates the
    /// message.
    static func writeState(
        _ updates: StateUpdates, stored: [StateKey: StoredArm], knownKeys: Set<StateKey>, policies: PolicyRegistry,
        now: Date
    ) throws(PostgresError) -> StateWrite {
        var write = StateWrite()
        guard !updates.isEmpty else { return write }
        for key in updates.sortedKeys {
            precondition(knownKeys.contains(key), "a state key was updated without being read")
            let rowUpdates = updates.byKey[key] ?? []
            let dimension = rowUpdates[0].features.count
            let row = stored[key]
            if let row, row.statistics.dimension != dimension {
                throw PostgresError(
                    operation: "apply", sqlState: .checkViolation,
                    message:
                        "bandit_state row of policy \(key.policy) has dimension \(row.statistics.dimension), the update has \(dimension)"
                )
            }
            let halfLife = policies[key.policy]?.halfLifeSeconds
            var state =
                row?.forgettingState ?? ForgettingState(statistics: .zero(dimension: dimension), halfLife: halfLife)
            state.apply(rowUpdates, halfLife: halfLife, now: now.timeIntervalSince1970)
            if let row {
                write.changed.append((key, row.version, state))
            } else {
                write.created.append((key, state))
            }
        }
        if !write.changed.isEmpty {
            let changed = write.changed
            var a = FlatColumn<Double>(capacity: changed.reduce(0) { $0 + $1.state.statistics.a.count })
            var b = FlatColumn<Double>(capacity: changed.reduce(0) { $0 + $1.state.statistics.b.count })
            for row in changed {
                a.append(row.state.statistics.a)
                b.append(row.state.statistics.b)
            }
            write.statements.append(
                PostgresStatement(
                    """
                    WITH updated AS (
                        UPDATE bandit_state AS s
                        SET a = ($2::float8[])[t.a_from : t.a_to], b = ($3::float8[])[t.b_from : t.b_to], n = t.n,
                            reward_sum = t.reward_sum, forgetting_ref = t.forgetting_ref, half_life_s = t.half_life_s,
                            updated_at = now()
                        FROM unnest($1::tid[], $13::xid[], $14::text[], $15::text[], $16::text[], $17::text[],
                                    $4::int[], $5::int[], $6::int[], $7::int[], $8::bigint[], $9::float8[],
                                    $11::timestamptz[], $12::float8[]) WITH ORDINALITY
                             AS t(tid, xmin, user_id, policy, source, arm_id, a_from, a_to, b_from, b_to, n,
                                  reward_sum, forgetting_ref, half_life_s, ord)
                        WHERE s.ctid = t.tid AND s.xmin = t.xmin AND s.user_id = t.user_id AND s.policy = t.policy
                          AND s.source = t.source AND s.arm_id = t.arm_id
                        RETURNING t.ord, s.ctid, s.xmin),
                    checked AS (
                        SELECT banditd_require(count(*) = $10, 'a bandit_state row changed since it was read') AS ok
                        FROM updated)
                    SELECT u.ord, u.ctid, u.xmin FROM checked AS c LEFT JOIN updated AS u ON true WHERE c.ok
                    """,
                    [
                        .tidArray(changed.map(\.version.tid)), a.value, b.value, a.fromValue, a.toValue, b.fromValue,
                        b.toValue, .int64Array(changed.map(\.state.statistics.n)),
                        .doubleArray(changed.map(\.state.statistics.rewardSum)), .int64(Int64(changed.count)),
                        .optionalTimestampArray(
                            changed.map { $0.state.reference.map(Date.init(timeIntervalSince1970:)) }),
                        .optionalDoubleArray(changed.map(\.state.halfLife)), .xidArray(changed.map(\.version.xmin)),
                        .textArray(changed.map(\.key.userID)), .textArray(changed.map(\.key.policy)),
                        .textArray(changed.map(\.key.source)), .textArray(changed.map(\.key.armID)),
                    ]))
        }
        if !write.created.isEmpty {
            let created = write.created
            var a = FlatColumn<Double>()
            var b = FlatColumn<Double>()
            for row in created {
                a.append(row.state.statistics.a)
                b.append(row.state.statistics.b)
            }
            write.statements.append(
                PostgresStatement(
                    """
                    WITH inserted AS (
                        INSERT INTO bandit_state (user_id, policy, source, arm_id, dimension, a, b, n, reward_sum,
                                                  forgetting_ref, half_life_s, updated_at)
                        SELECT t.user_id, t.policy, t.source, t.arm_id, t.dimension, ($6::float8[])[t.a_from : t.a_to],
                               ($7::float8[])[t.b_from : t.b_to], t.n, t.reward_sum, t.forgetting_ref, t.half_life_s, now()
                        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $8::int[], $9::int[],
                                    $10::int[], $11::int[], $12::bigint[], $13::float8[], $15::timestamptz[],
                                    $16::float8[]) WITH ORDINALITY
                             AS t(user_id, policy, source, arm_id, dimension, a_from, a_to, b_from, b_to, n, reward_sum,
                                  forgetting_ref, half_life_s, ord)
                        ORDER BY t.ord
                        ON CONFLICT (user_id, policy, source, arm_id) DO NOTHING
                        RETURNING user_id, policy, source, arm_id, ctid, xmin),
                    checked AS (
                        SELECT banditd_require(count(*) = $14, 'a bandit_state row of this batch was created concurrently')
                               AS ok
                        FROM inserted)
                    SELECT i.user_id, i.policy, i.source, i.arm_id, i.ctid, i.xmin
                    FROM checked AS c LEFT JOIN inserted AS i ON true WHERE c.ok
                    """,
                    [
                        .textArray(created.map(\.key.userID)), .textArray(created.map(\.key.policy)),
                        .textArray(created.map(\.key.source)), .textArray(created.map(\.key.armID)),
                        .int32Array(created.map { Int32($0.state.statistics.dimension) }), a.value, b.value,
                        a.fromValue, a.toValue, b.fromValue, b.toValue, .int64Array(created.map(\.state.statistics.n)),
                        .doubleArray(created.map(\.state.statistics.rewardSum)), .int64(Int64(created.count)),
                        .optionalTimestampArray(
                            created.map { $0.state.reference.map(Date.init(timeIntervalSince1970:)) }),
                        .optionalDoubleArray(created.map(\.state.halfLife)),
                    ]))
        }
        return write
    }

    static func insertDecisions(
        _ decisions: [Decision], rewards: [UUID: (eventID: UUID, reward: Double)] = [:]
    ) -> PostgresStatement {
        var features = FlatColumn<Double>()
        var candidates = FlatColumn<String>()
        var probabilities = FlatColumn<Double>()
        for decision in decisions {
            features.append(decision.features)
            candidates.append(decision.candidates)
            probabilities.append(decision.probabilities)
        }
        return PostgresStatement(
            """
            WITH inserted AS (
                INSERT INTO decisions (decision_id, event_id, user_id, policy, policy_version, arm_id, propensity,
                                       features, candidates, probabilities, explored, source, occurred_at,
                                       rewarded_event_id, reward, reward_origin, rewarded_at)
                SELECT t.decision_id, t.event_id, t.user_id, t.policy, t.policy_version, t.arm_id, t.propensity,
                       ($8::float8[])[t.features_from : t.features_to],
                       CASE WHEN t.candidates_from <= t.candidates_to
                            THEN ($9::text[])[t.candidates_from : t.candidates_to] END,
                       CASE WHEN t.probabilities_from <= t.probabilities_to
                            THEN ($10::float8[])[t.probabilities_from : t.probabilities_to] END,
                       t.explored, t.source, t.occurred_at, t.rewarded_event_id, t.reward,
                       CASE WHEN t.rewarded_event_id IS NOT NULL THEN 'event' END,
                       CASE WHEN t.rewarded_event_id IS NOT NULL THEN now() END
                FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[],
                            $11::int[], $12::int[], $13::int[], $14::int[], $15::int[], $16::int[], $17::boolean[],
                            $18::text[], $19::timestamptz[], $21::uuid[], $22::float8[])
                     AS t(decision_id, event_id, user_id, policy, policy_version, arm_id, propensity,
                          features_from, features_to, candidates_from, candidates_to, probabilities_from,
                          probabilities_to, explored, source, occurred_at, rewarded_event_id, reward)
                ON CONFLICT (decision_id) DO NOTHING
                RETURNING 1)
            SELECT banditd_require(count(*) = $20, 'a decision_id of this batch was logged concurrently by another event')
            FROM inserted
            """,
            [
                .uuidArray(decisions.map(\.decisionID)), .uuidArray(decisions.map(\.eventID)),
                .textArray(decisions.map(\.userID)), .textArray(decisions.map(\.policy)),
                .textArray(decisions.map(\.policyVersion)), .textArray(decisions.map(\.armID)),
                .doubleArray(decisions.map(\.propensity)), features.value, candidates.value, probabilities.value,
                features.fromValue, features.toValue, candidates.fromValue, candidates.toValue,
                probabilities.fromValue, probabilities.toValue, .optionalBoolArray(decisions.map(\.explored)),
                .textArray(decisions.map(\.source.rawValue)), .timestampArray(decisions.map(\.occurredAt)),
                .int64(Int64(decisions.count)), .optionalUUIDArray(decisions.map { rewards[$0.decisionID]?.eventID }),
                .optionalDoubleArray(decisions.map { rewards[$0.decisionID]?.reward }),
            ])
    }

    /// Records joined rewards on their decisions (`reward_origin` 'event' or 'late').
    static func rewardDecisions(
        _ rewards: [(decisionID: UUID, eventID: UUID, reward: Double, origin: RewardOrigin)]
    ) -> PostgresStatement {
        PostgresStatement(
            """
            UPDATE decisions AS d
            SET rewarded_event_id = t.event_id, reward = t.reward, reward_origin = t.origin, rewarded_at = now()
            FROM unnest($1::uuid[], $2::uuid[], $3::float8[], $4::text[]) AS t(decision_id, event_id, reward, origin)
            WHERE d.decision_id = t.decision_id
            """,
            [
                .uuidArray(rewards.map(\.decisionID)), .uuidArray(rewards.map(\.eventID)),
                .doubleArray(rewards.map(\.reward)), .textArray(rewards.map(\.origin.rawValue)),
            ])
    }

    static func park(_ rewards: [(reward: Reward, decisionID: UUID, origin: MessageOrigin)]) -> PostgresStatement {
        var names = FlatColumn<String>()
        var values = FlatColumn<String>()
        for parked in rewards {
            names.append(parked.origin.headers.map(\.name))
            values.append(parked.origin.headers.map(\.value))
        }
        return PostgresStatement(
            """
            INSERT INTO parked_rewards (event_id, decision_id, user_id, source, reward, occurred_at, subject, stream,
                                        stream_seq, deliveries, header_names, header_values, body)
            SELECT t.event_id, t.decision_id, t.user_id, t.source, t.reward, t.occurred_at, t.subject, t.stream,
                   t.stream_seq, t.deliveries, ($11::text[])[t.names_from : t.names_to],
                   ($12::text[])[t.values_from : t.values_to], t.body
            FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::float8[], $6::timestamptz[], $7::text[],
                        $8::text[], $9::bigint[], $10::int[], $13::int[], $14::int[], $15::int[], $16::int[],
                        $17::bytea[])
                 AS t(event_id, decision_id, user_id, source, reward, occurred_at, subject, stream, stream_seq,
                      deliveries, names_from, names_to, values_from, values_to, body)
            ON CONFLICT (event_id) DO NOTHING
            """,
            [
                .uuidArray(rewards.map(\.reward.eventID)), .uuidArray(rewards.map(\.decisionID)),
                .textArray(rewards.map(\.reward.userID)), .textArray(rewards.map(\.reward.source.rawValue)),
                .doubleArray(rewards.map(\.reward.reward)), .timestampArray(rewards.map(\.reward.occurredAt)),
                .textArray(rewards.map(\.origin.subject)), .textArray(rewards.map(\.origin.stream)),
                .int64Array(rewards.map { Int64($0.origin.streamSequence) }),
                .int32Array(rewards.map { Int32(clamping: $0.origin.deliveries) }), names.value, values.value,
                names.fromValue, names.toValue, values.fromValue, values.toValue,
                .byteaArray(rewards.map { $0.origin.body }),
            ])
    }

    static func parkedVerdicts(_ verdicts: [(eventID: UUID, reason: RejectionReason, detail: String)])
        -> PostgresStatement
    {
        PostgresStatement(
            """
            UPDATE parked_rewards AS p SET verdict = t.verdict, verdict_detail = t.detail
            FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(event_id, verdict, detail)
            WHERE p.event_id = t.event_id
            """,
            [
                .uuidArray(verdicts.map(\.eventID)), .textArray(verdicts.map(\.reason.rawValue)),
                .textArray(verdicts.map(\.detail)),
            ])
    }

    static func insertRoutings(_ routings: [RoutingOutcome]) -> PostgresStatement {
        PostgresStatement(
            """
            INSERT INTO routing_outcomes (event_id, inference_id, user_id, task_type, task_type_source, policy_version,
                                          model, provider, constraint_band, cell, reward, latency_ms, cost_usd,
                                          completed, source, occurred_at)
            SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                 $8::text[], $9::text[], $10::text[], $11::float8[], $12::float8[], $13::float8[],
                                 $14::boolean[], $15::text[], $16::timestamptz[])
            ON CONFLICT (event_id) DO NOTHING
            """,
            [
                .uuidArray(routings.map(\.eventID)), .uuidArray(routings.map(\.inferenceID)),
                .textArray(routings.map(\.userID)), .textArray(routings.map(\.taskType.rawValue)),
                .textArray(routings.map(\.taskTypeSource.rawValue)), .textArray(routings.map(\.policyVersion)),
                .textArray(routings.map(\.model)), .textArray(routings.map(\.provider)),
                .textArray(routings.map(\.constraintBand.rawValue)), .textArray(routings.map(\.cell)),
                .doubleArray(routings.map(\.reward)), .doubleArray(routings.map(\.latencyMs)),
                .doubleArray(routings.map(\.costUSD)), .optionalBoolArray(routings.map(\.completed)),
                .textArray(routings.map(\.source.rawValue)), .timestampArray(routings.map(\.occurredAt)),
            ])
    }

    /// Rows in (user_id, source) order, bytewise: every daemon locks user_sync rows in one order.
    static func upsertSyncs(_ syncs: [TaskSynced]) -> PostgresStatement {
        let rows = syncs.sorted {
            if !$0.userID.utf8.elementsEqual($1.userID.utf8) {
                return $0.userID.utf8.lexicographicallyPrecedes($1.userID.utf8)
            }
            return $0.source.rawValue.utf8.lexicographicallyPrecedes($1.source.rawValue.utf8)
        }
        return PostgresStatement(
            """
            INSERT INTO user_sync AS s (user_id, source, task_count, last_sync_at)
            SELECT t.user_id, t.source, t.task_count, t.last_sync_at
            FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[]) WITH ORDINALITY
                 AS t(user_id, source, task_count, last_sync_at, ord)
            ORDER BY t.ord
            ON CONFLICT (user_id, source) DO UPDATE
            SET task_count = EXCLUDED.task_count, last_sync_at = EXCLUDED.last_sync_at
            WHERE s.last_sync_at < EXCLUDED.last_sync_at
            """,
            [
                .textArray(rows.map(\.userID)), .textArray(rows.map(\.source.rawValue)),
                .int64Array(rows.map { Int64($0.taskCount) }), .timestampArray(rows.map(\.occurredAt)),
            ])
    }

    static func insertTips(_ tips: [TipFeedback]) -> PostgresStatement {
        PostgresStatement(
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
