import BanditMath
import BanditStore
import Foundation
import PostgresKit
import TestSupport
import Testing

/// The read side of CONTRACT section 9 against a real PostgreSQL: what `report ope`, `stats`,
/// `report cells --top`, `state reset` and the evaluation record read and write.
@Suite(.postgresServer, .serialized)
struct ReadSideStoreTests {
    private func migratedDatabase(_ server: PostgresServer) throws -> PostgresConnection {
        let connection = try PostgresConnection(conninfo: server.conninfo(database: try server.createDatabase()))
        try Migrator().migrate(on: connection)
        return connection
    }

    /// Inserts a decision row as the applier would leave it (origin 'event' when rewarded unless given).
    private func insertDecision(
        _ connection: PostgresConnection, id: UUID = UUID(), user: String = "u1", policy: String = "linucb_v1",
        source: String = "prod", arm: String = "a", features: [Double] = [1, 0], candidates: [String]? = ["a", "b"],
        probabilities: [Double]? = [0.5, 0.5], reward: Double? = 1, origin: String? = nil,
        occurredAt: String = "2026-11-01T12:00:00Z"
    ) throws {
        try connection.execute(
            """
            INSERT INTO decisions (decision_id, event_id, user_id, policy, policy_version, arm_id, propensity, features,
                candidates, probabilities, source, occurred_at, rewarded_event_id, reward, reward_origin, rewarded_at)
            VALUES ($1, gen_random_uuid(), $2, $3, $3 || '@1.0.0+a3f9c2e1', $4, 0.5, $5::float8[], $6::text[],
                $7::float8[], $8, $9::timestamptz, CASE WHEN $10::float8 IS NULL THEN NULL ELSE gen_random_uuid() END,
                $10::float8, CASE WHEN $10::float8 IS NULL THEN NULL ELSE COALESCE($11, 'event') END,
                CASE WHEN $10::float8 IS NULL THEN NULL ELSE now() END)
            """,
            [
                PostgresText.uuid(id), user, policy, arm, PostgresText.array(features),
                candidates.map { PostgresText.array($0) }, probabilities.map { PostgresText.array($0) }, source,
                occurredAt, reward.map(PostgresText.double), origin,
            ])
    }

    private func insertState(
        _ connection: PostgresConnection, user: String, policy: String = "linucb_v1", source: String = "prod",
        arm: String, n: Int, rewardSum: Double
    ) throws {
        try connection.execute(
            """
            INSERT INTO bandit_state (user_id, policy, source, arm_id, dimension, a, b, n, reward_sum)
            VALUES ($1, $2, $3, $4, 1, '{1}', '{1}', $5, $6)
            """, [user, policy, source, arm, String(n), PostgresText.double(rewardSum)])
    }

    @Test func theMigrationAddsEvaluationRunsAndStateResetsWithTheContractsColumns() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try migratedDatabase(server)
            func columns(_ table: String) throws -> [String] {
                try connection.query(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
                    [table]
                ).rows.map { try $0.string(0) }
            }
            #expect(
                try columns("evaluation_runs") == [
                    "run_id", "kind", "policy", "candidate", "source", "window_start", "window_end", "n", "estimates",
                    "passed", "created_at", "report",
                ])
            #expect(try columns("state_resets") == ["reset_id", "user_id", "policy", "source", "rows", "reset_at"])
        }
    }

    @Test func evaluationReadsOnlyTheSourcePolicyWindowAndUsersAskedForAndCountsWhatItSkips() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try migratedDatabase(server)
            let ids = (0..<4).map { _ in UUID() }.sorted { $0.uuidString.lowercased() < $1.uuidString.lowercased() }
            try insertDecision(connection, id: ids[2], features: [0.1, 1e-7], reward: 0.25)
            try insertDecision(connection, id: ids[0], arm: "b", reward: -1, origin: "default")
            try insertDecision(connection, id: ids[1], probabilities: nil, reward: 0.5, origin: "late")
            try insertDecision(connection, id: ids[3], user: "u2", reward: 1)
            try insertDecision(connection, reward: nil)  // open
            try insertDecision(connection, candidates: nil, probabilities: nil)  // no candidates
            try insertDecision(connection, source: "synthetic")
            try insertDecision(connection, source: "shadow")
            try insertDecision(connection, policy: "egreedy_v1")
            try insertDecision(connection, occurredAt: "2026-10-31T23:59:59.999999Z")
            try insertDecision(connection, occurredAt: "2026-11-02T00:00:00Z")
            let reads = LearningReads(connection: connection)
            let since = PostgresText.timestamp("2026-11-01 00:00:00+00")!
            let until = PostgresText.timestamp("2026-11-02 00:00:00+00")!
            let read = try reads.evaluationDecisions(policy: "linucb_v1", source: "prod", since: since, until: until)
            #expect(read.withoutReward == 1)
            #expect(read.withoutCandidates == 1)
            #expect(
                read.interactions.map(\.key)
                    == ids.map { id in
                        DecisionKey(bytes: withUnsafeBytes(of: id.uuid) { Array($0) })
                    })
            let first = read.interactions[2]
            #expect(first.features == [0.1, 1e-7])
            #expect(first.reward == 0.25)
            #expect(first.propensity == 0.5)
            #expect(first.candidates == ["a", "b"])
            #expect(first.probabilities == [0.5, 0.5])
            #expect(read.interactions[1].probabilities == nil)
            #expect(read.interactions[0].reward == -1)  // closed with the default: a reward like any
            // Unbounded window: the two rows outside it come in; a users filter keeps u2 only.
            #expect(
                try reads.evaluationDecisions(policy: "linucb_v1", source: "prod", since: nil, until: nil)
                    .interactions.count == 6)
            let u2 = try reads.evaluationDecisions(
                policy: "linucb_v1", source: "prod", since: nil, until: nil, users: ["u2"])
            #expect(u2.interactions.map(\.userID) == ["u2"])
            #expect(u2.withoutReward == 0)
            #expect(
                try reads.evaluationDecisions(policy: "linucb_v1", source: "synthetic", since: nil, until: nil)
                    .interactions.count == 1)
        }
    }

    @Test func userStatsCountDecisionsByRewardOriginAndListStateRows() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try migratedDatabase(server)
            try insertDecision(connection, reward: 1)
            try insertDecision(connection, reward: 0.5)
            try insertDecision(connection, reward: 0, origin: "default")
            try insertDecision(connection, reward: 0.7, origin: "late")
            try insertDecision(connection, reward: nil)
            try insertDecision(connection, reward: nil)
            try insertDecision(connection, source: "synthetic", reward: nil)
            try insertDecision(connection, user: "u2")
            try insertState(connection, user: "u1", arm: "b", n: 3, rewardSum: 1.5)
            try insertState(connection, user: "u1", arm: "a", n: 4, rewardSum: 2)
            try insertState(connection, user: "u1", source: "shadow", arm: "a", n: 1, rewardSum: -1)
            let reads = LearningReads(connection: connection)
            let counts = try reads.decisionCounts(user: "u1", policy: nil, source: nil)
            #expect(
                counts == [
                    DecisionCounts(
                        policy: "linucb_v1", source: "prod", logged: 6, rewardedByEvent: 2, closedByDefault: 1,
                        lateCorrected: 1, open: 2),
                    DecisionCounts(
                        policy: "linucb_v1", source: "synthetic", logged: 1, rewardedByEvent: 0, closedByDefault: 0,
                        lateCorrected: 0, open: 1),
                ])
            #expect(try reads.decisionCounts(user: "u1", policy: nil, source: "synthetic").count == 1)
            #expect(try reads.decisionCounts(user: "u1", policy: "egreedy_v1", source: nil).isEmpty)
            let arms = try reads.armSummaries(user: "u1", policy: nil, source: nil)
            #expect(arms.map { "\($0.source)/\($0.armID)" } == ["prod/a", "prod/b", "shadow/a"])
            #expect(arms[1].meanReward == 0.5)
            #expect(arms[2].meanReward == -1)
            #expect(try reads.armSummaries(user: "u1", policy: nil, source: "prod").count == 2)
        }
    }

    @Test func topCellsAreTheMostFrequentWithTheirTier() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try migratedDatabase(server)
            let rows: [(String, String, String, String)] = [
                ("u1", "code", "m1", "low"), ("u1", "code", "m1", "low"), ("u1", "code", "m1", "low"),
                ("u1", "embed", "m2", "high"), ("u1", "embed", "m2", "high"), ("u1", "chat", "m1", "low"),
                ("u1", "chat", "m2", "low"), ("u2", "embed", "m2", "high"), ("u2", "embed", "m2", "high"),
            ]
            for (user, taskType, model, band) in rows {
                try connection.execute(
                    """
                    INSERT INTO routing_outcomes (event_id, inference_id, user_id, task_type, task_type_source,
                        policy_version, model, provider, constraint_band, cell, reward, latency_ms, cost_usd, completed,
                        occurred_at)
                    VALUES (gen_random_uuid(), gen_random_uuid(), $1, $2, 'caller', 'routing_v1@1.0.0+a3f9c2e1', $3,
                        'p', $4, $2 || '|' || $3 || '|' || $4, 0.5, 10, 0.01, true, now())
                    """, [user, taskType, model, band])
            }
            let reads = LearningReads(connection: connection)
            #expect(
                try reads.topCells(user: nil, source: nil, limit: 3) == [
                    CellCount(cell: "embed|m2|high", count: 4, tier: 2),
                    CellCount(cell: "code|m1|low", count: 3, tier: 1),
                    CellCount(cell: "chat|m1|low", count: 1, tier: 1),  // ties by cell: chat|m1 before chat|m2
                ])
            #expect(try reads.topCells(user: "u1", source: "prod", limit: 1).map(\.cell) == ["code|m1|low"])
            #expect(try reads.topCells(user: nil, source: "synthetic", limit: 5).isEmpty)
        }
    }

    @Test func aResetDeletesTheUsersRowsAndRecordsOneRowPerPolicyAndSource() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try migratedDatabase(server)
            try insertState(connection, user: "u1", arm: "a", n: 4, rewardSum: 2)
            try insertState(connection, user: "u1", arm: "b", n: 1, rewardSum: 1)
            try insertState(connection, user: "u1", source: "synthetic", arm: "a", n: 9, rewardSum: 3)
            try insertState(connection, user: "u1", policy: "egreedy_v1", arm: "a", n: 2, rewardSum: 0)
            try insertState(connection, user: "u2", arm: "a", n: 5, rewardSum: 5)
            let resets = StateResets(connection: connection)
            func stateRows() throws -> Int { try connection.query("SELECT count(*) FROM bandit_state").rows[0].int(0) }

            let preview = try resets.preview(user: "u1", policy: "linucb_v1", source: nil)
            #expect(preview.map { "\($0.source)/\($0.armID)" } == ["prod/a", "prod/b", "synthetic/a"])
            #expect(try stateRows() == 5)

            let (removed, records) = try resets.reset(user: "u1", policy: "linucb_v1", source: nil)
            #expect(removed == preview)
            #expect(
                records.map { "\($0.policy)/\($0.source)/\($0.rows)" } == ["linucb_v1/prod/2", "linucb_v1/synthetic/1"])
            #expect(try stateRows() == 2)
            let stored = try connection.query(
                "SELECT reset_id, user_id, policy, source, rows FROM state_resets ORDER BY source"
            ).rows
            #expect(try stored.map { try $0.uuid(0) } == records.map(\.resetID))
            #expect(try stored.map { try $0.string(1) } == ["u1", "u1"])
            #expect(try stored.map { try $0.int(4) } == [2, 1])

            // Nothing left to reset: nothing removed, nothing recorded; u2 and egreedy_v1 untouched.
            let again = try resets.reset(user: "u1", policy: "linucb_v1", source: nil)
            #expect(again.removed.isEmpty && again.records.isEmpty)
            #expect(try connection.query("SELECT count(*) FROM state_resets").rows[0].int(0) == 2)
            #expect(try resets.preview(user: "u2", policy: nil, source: nil).count == 1)
            #expect(try resets.preview(user: "u1", policy: nil, source: nil).map(\.policy) == ["egreedy_v1"])
        }
    }

    @Test func anEvaluationRunIsRecordedWithItsEstimatesAsJSON() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try migratedDatabase(server)
            let id = UUID()
            let start = PostgresText.timestamp("2026-11-01 00:00:00+00")!
            let created = try EvaluationRuns(connection: connection).record(
                EvaluationRun(
                    runID: id, kind: .ope, policy: "linucb_v1", candidate: "learned", source: "prod",
                    windowStart: start,
                    windowEnd: nil, n: 1234, estimates: #"{"dr":{"value":0.5,"lo":0.4,"hi":0.6}}"#, passed: true,
                    report: #"{"policy":"linucb_v1","n":1234}"#))
            let row = try connection.query(
                """
                SELECT run_id, kind, policy, candidate, source, window_start, window_end, n,
                       (estimates -> 'dr' ->> 'lo')::float8, passed, created_at, report ->> 'policy'
                FROM evaluation_runs
                """
            ).rows[0]
            #expect(try row.uuid(0) == id)
            #expect(try row.string(1) == "ope")
            #expect(try row.date(5) == start)
            #expect(try row.optionalString(6) == nil)
            #expect(try row.int(7) == 1234)
            #expect(try row.double(8) == 0.4)
            #expect(try row.bool(9))
            #expect(try row.date(10) == created)
            #expect(try row.string(11) == "linucb_v1")
            // The table checks what it can: an unknown kind or source is refused.
            let bad = #expect(throws: PostgresError.self) {
                try EvaluationRuns(connection: connection).record(
                    EvaluationRun(
                        runID: UUID(), kind: .ope, policy: "p", candidate: nil, source: "staging", windowStart: nil,
                        windowEnd: nil, n: 0, estimates: "{}", passed: false, report: "{}"))
            }
            #expect(bad?.sqlState == .checkViolation)
        }
    }
}
