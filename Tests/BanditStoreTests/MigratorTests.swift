import BanditStore
import Foundation
import PostgresKit
import Synchronization
import TestSupport
import Testing

@Suite(.postgresServer, .serialized)
struct MigratorTests {
    private func freshDatabase(_ server: PostgresServer) throws -> String {
        server.conninfo(database: try server.createDatabase())
    }

    @Test func aFreshDatabaseGetsEveryTableViewAndIndexOfTheContract() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try PostgresConnection(conninfo: try freshDatabase(server))
            let applied = try Migrator().migrate(on: connection)
            #expect(applied.map(\.version) == Migration.all.map(\.version).sorted())
            let tables = try connection.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
            ).rows.map { try $0.string(0) }
            // The contract's tables (later migrations may add more).
            #expect(
                Set([
                    "bandit_state", "cell_coverage", "decisions", "processed_events", "routing_outcomes",
                    "schema_migrations", "tip_feedback", "user_sync",
                ]).isSubset(of: tables))
            func columns(_ table: String) throws -> [String] {
                try connection.query(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
                    [table]
                ).rows.map { try $0.string(0) }
            }
            #expect(try columns("processed_events") == ["event_id", "subject", "stream", "stream_seq", "processed_at"])
            #expect(
                try columns("decisions") == [
                    "decision_id", "event_id", "user_id", "policy", "policy_version", "arm_id", "propensity",
                    "features",
                    "candidates", "probabilities", "explored", "source", "occurred_at", "rewarded_event_id", "reward",
                    "reward_origin", "rewarded_at",
                ])
            #expect(
                try columns("bandit_state") == [
                    "user_id", "policy", "source", "arm_id", "dimension", "a", "b", "n", "reward_sum", "updated_at",
                    "forgetting_ref", "half_life_s",
                ])
            #expect(
                try columns("routing_outcomes") == [
                    "event_id", "inference_id", "user_id", "task_type", "task_type_source", "policy_version", "model",
                    "provider", "constraint_band", "cell", "reward", "latency_ms", "cost_usd", "completed", "source",
                    "occurred_at", "received_at",
                ])
            #expect(try columns("user_sync") == ["user_id", "source", "task_count", "last_sync_at"])
            #expect(
                try columns("tip_feedback") == ["event_id", "user_id", "tip_id", "action", "source", "occurred_at"])
            #expect(try columns("cell_coverage") == ["user_id", "source", "cells", "tier1_cells", "tier2_cells"])
            let indexes = try connection.query(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'routing_outcomes' ORDER BY 1"
            ).rows.map { try $0.string(0) }
            #expect(indexes.contains("routing_outcomes_source_idx"))
            #expect(indexes.contains("routing_outcomes_cell_idx"))
            let primaryKey = try connection.query(
                """
                SELECT string_agg(a.attname, ',' ORDER BY k.ordinality)
                FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ordinality)
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE i.indrelid = 'bandit_state'::regclass AND i.indisprimary
                """
            ).rows[0].string(0)
            #expect(primaryKey == "user_id,policy,source,arm_id")
        }
    }

    @Test func routingOutcomesSourceIsNotNullDefaultsToProdAndIsChecked() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try PostgresConnection(conninfo: try freshDatabase(server))
            try Migrator().migrate(on: connection)
            let column = try connection.query(
                """
                SELECT is_nullable, column_default FROM information_schema.columns
                WHERE table_name = 'routing_outcomes' AND column_name = 'source'
                """
            ).rows[0]
            #expect(try column.string(0) == "NO")
            #expect(try column.string(1) == "'prod'::text")
            let insert: SQL = """
                INSERT INTO routing_outcomes (event_id, inference_id, user_id, task_type, task_type_source,
                    policy_version, model, provider, constraint_band, cell, reward, latency_ms, cost_usd, completed,
                    occurred_at, source)
                VALUES (gen_random_uuid(), gen_random_uuid(), 'u', 'code', 'caller', 'routing_v1@1.0.0+a3f9c2e1', 'm',
                    'p', 'low', 'code|m|low', 0.5, 10, 0.01, true, now(), COALESCE($1, 'prod'))
                """
            try connection.execute(insert, [nil])
            #expect(try connection.query("SELECT source FROM routing_outcomes").rows[0].string(0) == "prod")
            let error = #expect(throws: PostgresError.self) { try connection.execute(insert, ["bogus"]) }
            #expect(error?.sqlState == .checkViolation)
            #expect(error?.category == .badData)
        }
    }

    @Test func runningAgainAppliesNothing() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try PostgresConnection(conninfo: try freshDatabase(server))
            #expect(try Migrator().migrate(on: connection).count == Migration.all.count)
            #expect(try Migrator().migrate(on: connection).isEmpty)
            #expect(
                try connection.query("SELECT count(*) FROM schema_migrations").rows[0].int(0) == Migration.all.count)
        }
    }

    @Test func twoDaemonsMigratingAtOnceBothSucceedAndApplyItOnce() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let conninfo = try freshDatabase(server)
            let group = DispatchGroup()
            let results = ResultsBox()
            for _ in 0..<4 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    do {
                        let connection = try PostgresConnection(conninfo: conninfo)
                        results.append(.success(try Migrator().migrate(on: connection).count))
                    } catch {
                        results.append(.failure(error))
                    }
                }.start()
            }
            group.wait()
            let counts = results.values.compactMap { try? $0.get() }
            #expect(counts.count == 4)
            #expect(counts.reduce(0, +) == Migration.all.count)
        }
    }

    @Test func aChangedMigrationIsAnError() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try PostgresConnection(conninfo: try freshDatabase(server))
            try Migrator().migrate(on: connection)
            try connection.execute("UPDATE schema_migrations SET checksum = 'changed' WHERE version = 1")
            let error = #expect(throws: PostgresError.self) { try Migrator().migrate(on: connection) }
            #expect(error?.message.contains("different SQL") == true)
        }
    }

    @Test func aDatabaseMigratedByANewerBanditdIsLeftAlone() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try PostgresConnection(conninfo: try freshDatabase(server))
            try Migrator().migrate(on: connection)
            try connection.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (99, 'future', 'x')")
            #expect(try Migrator().migrate(on: connection).isEmpty)
        }
    }

    @Test func cellCoverageCountsDistinctCellsByTier() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try PostgresConnection(conninfo: try freshDatabase(server))
            try Migrator().migrate(on: connection)
            let rows: [(String, String, String)] = [
                ("code", "m1", "low"), ("code", "m1", "low"), ("code", "m2", "low"), ("chat", "m1", "high"),
                ("embed", "m1", "low"), ("general", "m3", "standard"),
            ]
            for (taskType, model, band) in rows {
                try connection.execute(
                    """
                    INSERT INTO routing_outcomes (event_id, inference_id, user_id, task_type, task_type_source,
                        policy_version, model, provider, constraint_band, cell, reward, latency_ms, cost_usd, completed,
                        occurred_at)
                    VALUES (gen_random_uuid(), gen_random_uuid(), 'u1', $1, 'caller', 'routing_v1@1.0.0+a3f9c2e1', $2,
                        'p', $3, $1 || '|' || $2 || '|' || $3, 0.5, 10, 0.01, true, now())
                    """, [taskType, model, band])
            }
            let coverage = try connection.query(
                "SELECT user_id, source, cells, tier1_cells, tier2_cells FROM cell_coverage"
            ).rows
            #expect(coverage.count == 1)
            #expect(try coverage[0].string(0) == "u1")
            #expect(try coverage[0].string(1) == "prod")
            #expect(try coverage[0].int(2) == 5)
            #expect(try coverage[0].int(3) == 3)
            #expect(try coverage[0].int(4) == 2)
        }
    }
}

final class ResultsBox: Sendable {
    private let storage = Mutex<[Result<Int, any Error>]>([])

    func append(_ result: Result<Int, any Error>) { storage.withLock { $0.append(result) } }
    var values: [Result<Int, any Error>] { storage.withLock { $0 } }
}
