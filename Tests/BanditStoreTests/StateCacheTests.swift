import BanditCore
import BanditMath
import Foundation
import PostgresKit
import TestSupport
import Testing

@testable import BanditStore

/// The lane's state cache against a real PostgreSQL: cached rows are not read again, the state
/// equals the careful path's bit for bit (forgetting included), and a row changed elsewhere is a
/// conflict that the careful path then applies correctly.
@Suite(.postgresServer, .serialized)
struct StateCacheTests {
    static let policies = try! PolicyRegistry([
        PolicyDefinition(name: "linucb_v1", algorithm: .linucb, dimension: 3, alpha: 1),
        PolicyDefinition(name: "fading_v1", algorithm: .linucb, dimension: 2, alpha: 1, halfLifeSeconds: 3600),
    ])

    private func migratedDatabase(_ server: PostgresServer) throws -> (PostgresConnection, conninfo: String) {
        let conninfo = server.conninfo(database: try server.createDatabase())
        let connection = try PostgresConnection(conninfo: conninfo)
        try Migrator().migrate(on: connection)
        return (connection, conninfo)
    }

    /// Inline rewards for users u0…u(users−1), on both policies, `occurredAt` spread over a day.
    private static func batch(_ round: Int, users: Int = 6) -> [BatchItem] {
        (0..<users * 2).map { index in
            let fading = index.isMultiple(of: 2)
            let reward = try! Reward(
                eventID: UUID(),
                occurredAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(round * 977 + index * 61)),
                userID: "u\(index / 2)", source: .prod, reward: Double((round * 7 + index) % 11) / 10 - 0.5,
                target: .inline(
                    policy: fading ? "fading_v1" : "linucb_v1", armID: "a\(round % 2)",
                    features: fading
                        ? [0.25 + Double(round) / 8, -0.5] : [1, Double(index % 5) / 4, -Double(round % 3) / 2]),
                policies: policies)
            return BatchItem(
                event: .reward(reward),
                origin: MessageOrigin(
                    subject: "feedback.reward", stream: "FEEDBACK", streamSequence: UInt64(round * 100 + index),
                    body: []))
        }
    }

    private func state(_ connection: PostgresConnection) throws -> [String] {
        try connection.query(
            """
            SELECT user_id || '/' || policy || '/' || arm_id || ' n=' || n || ' sum=' || float8send(reward_sum)::text
                   || ' a=' || array_to_string(ARRAY(SELECT float8send(x)::text FROM unnest(a) AS x), ',')
                   || ' b=' || array_to_string(ARRAY(SELECT float8send(x)::text FROM unnest(b) AS x), ',')
                   || ' ref=' || coalesce(forgetting_ref::text, '-')
            FROM bandit_state ORDER BY user_id, policy, arm_id
            """
        ).rows.map { try $0.string(0) }
    }

    @Test func cachedRowsAreNotReadAgainAndTheStateEqualsTheCarefulPathBitForBit() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let cached = try migratedDatabase(server).0
            let careful = try migratedDatabase(server).0
            let applier = BatchApplier(policies: Self.policies)
            let cache = StateCache()
            for round in 0..<6 {
                let items = Self.batch(round)
                let withCache = try applier.apply(items, on: cached, cache: cache)
                let without = try applier.apply(items, on: careful)
                #expect(withCache == without)
                #expect(withCache.allSatisfy { $0 == .applied })
            }
            // Rounds 2…5 find their rows (written by rounds 0…3) in the cache.
            #expect(cache.statistics.hits == 4 * 12)
            #expect(cache.statistics.misses == 2 * 12)
            #expect(cache.statistics.conflicts == 0)
            #expect(try state(cached) == state(careful))
            #expect(try state(cached).count == 24)
        }
    }

    @Test func aRowChangedElsewhereIsAConflictAndTheBatchAppliesWithTheRowsLocked() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let (connection, conninfo) = try migratedDatabase(server)
            let other = try PostgresConnection(conninfo: conninfo)
            let applier = BatchApplier(policies: Self.policies)
            let cache = StateCache()
            _ = try applier.apply(Self.batch(0), on: connection, cache: cache)
            _ = try applier.apply(Self.batch(1), on: connection, cache: cache)
            // Another writer changes one cached row (as another daemon or the window closer would).
            #expect(
                try other.execute(
                    "UPDATE bandit_state SET n = n + 100, reward_sum = reward_sum + 50 WHERE user_id = 'u3' AND policy = 'linucb_v1'"
                ) == 2)
            let outcomes = try applier.apply(Self.batch(2), on: connection, cache: cache)
            #expect(outcomes.allSatisfy { $0 == .applied })
            #expect(cache.statistics.conflicts == 1)
            let row = try #require(
                try connection.query(
                    "SELECT n FROM bandit_state WHERE user_id = 'u3' AND policy = 'linucb_v1' AND arm_id = 'a0'"
                ).rows.first)
            #expect(try row.int(0) == 100 + 2)  // rounds 0 and 2 use a0; the other writer's +100 kept
            #expect(try connection.query("SELECT sum(n)::bigint FROM bandit_state").rows.first?.int(0) == 36 + 200)

            // A row deleted and created again is another version, even for the same key.
            _ = try other.execute("DELETE FROM bandit_state WHERE user_id = 'u1'")
            _ = try applier.apply(Self.batch(3), on: connection, cache: cache)
            #expect(cache.statistics.conflicts == 2)  // u1's a1 rows, cached by round 1, are gone
            _ = try other.execute("DELETE FROM bandit_state WHERE user_id = 'u1' AND arm_id = 'a1'")
            _ = try other.execute(
                """
                INSERT INTO bandit_state (user_id, policy, source, arm_id, dimension, a, b, n, reward_sum)
                VALUES ('u1', 'linucb_v1', 'prod', 'a1', 3, '{1,0,0,0,1,0,0,0,1}', '{0,0,0}', 7, 0)
                """)
            _ = try applier.apply(Self.batch(5), on: connection, cache: cache)
            #expect(cache.statistics.conflicts == 3)
            let recreated = try #require(
                try connection.query(
                    "SELECT n FROM bandit_state WHERE user_id = 'u1' AND policy = 'linucb_v1' AND arm_id = 'a1'"
                ).rows.first)
            #expect(try recreated.int(0) == 8)
        }
    }
}
