import BanditCore
import BanditMath
import BanditStore
import BanditWorker
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// CONTRACT section 8 through the pipeline and the closing job, against real servers.
@Suite(.postgresServer, .serialized)
struct RewardLoopTests {
    /// linucb_v1 with a 60 s window and default reward −0.25; routing_v1 with forgetting (h = 1 h).
    static let policies = try! PolicyRegistry([
        PolicyDefinition(
            name: "linucb_v1", algorithm: .linucb, dimension: 5, alpha: 1, rewardWaitSeconds: 60, defaultReward: -0.25),
        PolicyDefinition(name: "routing_v1", algorithm: .linucb, dimension: 8, alpha: 1, halfLifeSeconds: 3600),
    ])

    private func withPipeline(_ body: @escaping @Sendable (PipelineHarness) throws -> Void) async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let harness = try PipelineHarness(postgres: postgres)
            defer { harness.stop() }
            try body(harness)
        }
    }

    static func decision(id: UUID, arm: String, features: [Double], ageSeconds: Double) -> Event {
        .decision(
            try! Decision(
                eventID: UUID(), occurredAt: EventFactory.now(offset: -ageSeconds), userID: "u1", decisionID: id,
                policy: "linucb_v1", policyVersion: "linucb_v1@1.0.0+a3f9c2e1", armID: arm, propensity: 0.5,
                features: features))
    }

    private func stored(_ harness: PipelineHarness, arm: String, policy: String = "linucb_v1") throws
        -> ForgettingState?
    {
        let rows = try harness.query(
            """
            SELECT dimension, a::text, b::text, n, reward_sum, extract(epoch FROM forgetting_ref)::float8, half_life_s
            FROM bandit_state WHERE user_id = 'u1' AND policy = $1 AND arm_id = $2
            """, [policy, arm])
        guard let row = rows.first else { return nil }
        return ForgettingState(
            statistics: try ArmStatistics(
                dimension: row.int(0), a: row.doubleArray(1), b: row.doubleArray(2), n: row.int64(3),
                rewardSum: row.double(4)),
            reference: try row.optionalString(5).map { _ in try row.double(5) },
            halfLife: try row.optionalString(6).map { _ in try row.double(6) })
    }

    private func decisionRow(_ harness: PipelineHarness, _ id: UUID) throws -> (Double?, String?, Bool, Bool) {
        let row = try #require(
            try harness.query(
                """
                SELECT reward::text, reward_origin, rewarded_at IS NOT NULL, rewarded_event_id IS NOT NULL
                FROM decisions WHERE decision_id = $1
                """, [id.uuidString]
            ).first)
        return (
            try row.optionalString(0).flatMap(Double.init), try row.optionalString(1), try row.bool(2), try row.bool(3)
        )
    }

    @Test func aDecisionPastItsWindowIsClosedWithTheDefaultRewardExactlyOnceByTwoClosers() async throws {
        try await withPipeline { harness in
            let workers = try harness.startWorkers(policies: Self.policies)
            defer { workers.stop() }
            harness.startClosers(2, policies: Self.policies, in: workers)
            let x = EventFactory.features(5, seed: 3)
            let ids = (0..<10).map { _ in UUID() }
            // Ten decisions past their window, one inside it.
            try harness.publishAll(ids.map { Self.decision(id: $0, arm: "old", features: x, ageSeconds: 3600) })
            let fresh = UUID()
            try harness.publish(Self.decision(id: fresh, arm: "fresh", features: x, ageSeconds: 0))
            try waitUntil(timeout: .seconds(20)) { workers.observer.counts.withLock { $0.closedByDefault } >= 10 }
            Thread.sleep(forTimeInterval: 1)  // a second closer that would close again has had its turn
            #expect(workers.observer.counts.withLock { $0.closedByDefault } == 10)
            let state = try #require(try stored(harness, arm: "old"))
            var expected = ArmStatistics.zero(dimension: 5)
            for _ in ids { expected.add(features: x, reward: -0.25) }
            #expect(state.statistics.n == 10)
            #expect(state.statistics.a == expected.a)
            #expect(zip(state.statistics.b, expected.b).allSatisfy { Swift.abs($0 - $1) < 1e-12 })
            #expect(Swift.abs(state.statistics.rewardSum - -2.5) < 1e-12)
            for id in ids {
                let (reward, origin, rewardedAt, byEvent) = try decisionRow(harness, id)
                #expect(reward == -0.25 && origin == "default" && rewardedAt && !byEvent)
            }
            let (freshReward, freshOrigin, _, _) = try decisionRow(harness, fresh)
            #expect(freshReward == nil && freshOrigin == nil)
            #expect(try stored(harness, arm: "fresh") == nil)
        }
    }

    /// A state row locked by another session (here an operator's transaction; in the field a
    /// worker held on it) leaves only its own decisions open: the closing job skips them, closes
    /// every other due decision while the feedback consumer holds on that row, and closes them
    /// once the lock is gone.
    @Test func aLockedStateRowLeavesOnlyItsDecisionsOpenWhileTheFeedbackConsumerHolds() async throws {
        try await withPipeline { harness in
            let workers = try harness.startWorkers(policies: Self.policies, lockTimeout: .milliseconds(300))
            defer { workers.stop() }
            let x = EventFactory.features(5, seed: 4)
            try harness.publish(EventFactory.inlineReward(user: "u1", arm: "locked", features: x))
            try waitUntil(timeout: .seconds(20)) { try stored(harness, arm: "locked") != nil }

            let locker = try PostgresConnection(conninfo: harness.conninfo)
            defer { locker.close() }
            _ = try locker.execute("BEGIN")
            _ = try locker.query(
                "SELECT n FROM bandit_state WHERE user_id = 'u1' AND policy = 'linucb_v1' AND arm_id = 'locked' FOR UPDATE"
            )

            let lockedIDs = (0..<3).map { _ in UUID() }
            let freeIDs = (0..<7).map { _ in UUID() }
            try harness.publishAll(
                lockedIDs.map { Self.decision(id: $0, arm: "locked", features: x, ageSeconds: 3600) }
                    + freeIDs.map { Self.decision(id: $0, arm: "free", features: x, ageSeconds: 3600) })
            try waitUntil(timeout: .seconds(20)) { try harness.count("decisions") == 10 }
            // The feedback consumer holds on the locked row.
            try harness.publish(EventFactory.inlineReward(user: "u1", arm: "locked", features: x))
            try waitUntil(timeout: .seconds(20)) {
                workers.observer.counts.withLock { $0.holds.contains { $0?.kind == .lockTimeout } }
            }

            harness.startClosers(1, policies: Self.policies, in: workers)  // slices of 3
            try waitUntil(timeout: .seconds(20)) { workers.observer.counts.withLock { $0.closedByDefault } >= 7 }
            Thread.sleep(forTimeInterval: 1.5)  // several more sweeps while the row stays locked
            #expect(workers.observer.counts.withLock { $0.closedByDefault } == 7)
            for id in freeIDs { #expect(try decisionRow(harness, id).1 == "default") }
            for id in lockedIDs { #expect(try decisionRow(harness, id).1 == nil) }
            #expect(try stored(harness, arm: "free")?.statistics.n == 7)

            _ = try locker.execute("ROLLBACK")
            try waitUntil(timeout: .seconds(30)) { workers.observer.counts.withLock { $0.closedByDefault } == 10 }
            for id in lockedIDs { #expect(try decisionRow(harness, id).1 == "default") }
            try waitUntil(timeout: .seconds(30)) { try stored(harness, arm: "locked")?.statistics.n == 5 }
            #expect(workers.observer.counts.withLock { $0.deadLettered.isEmpty })
        }
    }

    @Test func aLateRewardCorrectsTheDefaultToWhatAnOnTimeRewardWouldHaveMade() async throws {
        try await withPipeline { harness in
            let workers = try harness.startWorkers(policies: Self.policies)
            defer { workers.stop() }
            harness.startClosers(policies: Self.policies, in: workers)
            let x = EventFactory.features(5, seed: 5)
            let late = UUID()
            let onTime = UUID()
            try harness.publish(Self.decision(id: late, arm: "late", features: x, ageSeconds: 3600))
            try harness.publish(Self.decision(id: onTime, arm: "on-time", features: x, ageSeconds: 1))
            try waitUntil(timeout: .seconds(20)) { workers.observer.counts.withLock { $0.closedByDefault } == 1 }
            try harness.publish(EventFactory.reward(decision: late, reward: 0.75))
            try harness.publish(EventFactory.reward(decision: onTime, reward: 0.75))
            try waitUntil(timeout: .seconds(20)) { workers.observer.counts.withLock { $0.lateCorrected } == 1 }
            try waitUntil(timeout: .seconds(20)) { try stored(harness, arm: "on-time") != nil }
            let corrected = try #require(try stored(harness, arm: "late")).statistics
            let direct = try #require(try stored(harness, arm: "on-time")).statistics
            #expect(corrected.n == 1 && direct.n == 1)
            #expect(corrected.a == direct.a)
            #expect(zip(corrected.b, direct.b).allSatisfy { Swift.abs($0 - $1) <= 1e-12 * max(1, Swift.abs($1)) })
            #expect(Swift.abs(corrected.rewardSum - direct.rewardSum) < 1e-12)
            let (reward, origin, _, byEvent) = try decisionRow(harness, late)
            #expect(reward == 0.75 && origin == "late" && byEvent)
            #expect(try decisionRow(harness, onTime).1 == "event")
            // A further reward for it is refused, as for any rewarded decision.
            try harness.publish(EventFactory.reward(decision: late, reward: 1))
            let letters = try harness.deadLetters(expecting: 1)
            #expect(letters.map { $0.headers["Deadletter-Reason"] } == ["decision.already_rewarded"])
        }
    }

    @Test func forgettingWeighsEachUpdateByItsEventTime() async throws {
        try await withPipeline { harness in
            let workers = try harness.startWorkers(policies: Self.policies)
            defer { workers.stop() }
            let x = EventFactory.features(8, seed: 2)
            let hour = 3600.0
            // Published out of order: the newest first.
            for age in [0.0, 2 * hour, 1 * hour] {
                try harness.publish(
                    .routing(
                        try! RoutingOutcome(
                            eventID: UUID(), occurredAt: EventFactory.now(offset: -age), userID: "u1",
                            inferenceID: UUID(),
                            taskType: .code, taskTypeSource: .caller, policyVersion: "routing_v1@1.0.0+a3f9c2e1",
                            model: "m1", provider: "p", constraintBand: .standard, reward: 1, latencyMs: 1, costUSD: 0,
                            completed: true,
                            banditUpdate: RoutingOutcome.BanditUpdate(policy: "routing_v1", features: x)))
                )
                try waitUntil(timeout: .seconds(10)) { try harness.count("routing_outcomes") >= 1 }
            }
            try waitUntil(timeout: .seconds(20)) { try harness.count("routing_outcomes") == 3 }
            let state = try #require(try stored(harness, arm: "m1", policy: "routing_v1"))
            #expect(state.halfLife == 3600)
            #expect(state.reference != nil)
            #expect(state.statistics.n == 3)
            // Read now: weights 1, 1/2, 1/4.
            let read = state.effective(at: Date().timeIntervalSince1970)
            let weight = 1 + 0.5 + 0.25
            for i in 0..<8 {
                for j in 0..<8 {
                    let expected = weight * x[i] * x[j]
                    #expect(Swift.abs(read.a[i * 8 + j] - expected) <= 1e-3 * max(1, Swift.abs(expected)))
                }
            }
        }
    }
}
