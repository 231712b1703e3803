import BanditCore
import BanditMath
import BanditStore
import BanditWorker
import Foundation
import NATSKit
import PostgresKit
import Synchronization
import TestSupport
import Testing

/// The pipeline end to end against real servers: publish to JetStream, workers apply to
/// PostgreSQL, read the outcome back from the database and the dead-letter stream.
@Suite(.postgresServer, .serialized)
struct PipelineTests {
    private func withPipeline(
        maxDeliver: Int = 5, ackWait: Duration = .seconds(30),
        _ body: @escaping @Sendable (PipelineHarness) throws -> Void
    ) async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let harness = try PipelineHarness(postgres: postgres, maxDeliver: maxDeliver, ackWait: ackWait)
            defer { harness.stop() }
            try body(harness)
        }
    }

    private func state(_ harness: PipelineHarness, user: String, policy: String, source: String = "prod", arm: String)
        throws -> ArmStatistics?
    {
        let rows = try harness.query(
            "SELECT dimension, a::text, b::text, n, reward_sum FROM bandit_state WHERE user_id = $1 AND policy = $2 AND source = $3 AND arm_id = $4",
            [user, policy, source, arm])
        guard let row = rows.first else { return nil }
        return try ArmStatistics(
            dimension: row.int(0), a: row.doubleArray(1), b: row.doubleArray(2), n: row.int64(3),
            rewardSum: row.double(4))
    }

    private func expected(_ updates: [([Double], Double)]) -> ArmStatistics {
        var statistics = ArmStatistics.zero(dimension: updates[0].0.count)
        for (features, reward) in updates { statistics.add(features: features, reward: reward) }
        return statistics
    }

    @Test func everySubjectsEffectIsStoredValueByValue() async throws {
        try await withPipeline { harness in
            let decisionID = UUID()
            let decisionFeatures = EventFactory.features(5, seed: 3)
            let decision = EventFactory.decision(
                user: "u1", id: decisionID, arm: "a7", features: decisionFeatures, propensity: 0.25)
            let joined = EventFactory.reward(user: "u1", decision: decisionID, reward: -0.5)
            let inlineFeatures = EventFactory.features(5, seed: 9)
            let inline = EventFactory.inlineReward(user: "u1", arm: "a2", features: inlineFeatures, reward: 0.75)
            let routingFeatures = EventFactory.features(8, seed: 4)
            let routed = EventFactory.routing(
                user: "u1", model: "gpt-x", taskType: .reasoning, band: .high, reward: 0.9, update: routingFeatures)
            let plainRouting = EventFactory.routing(user: "u2", model: "m2", taskType: .embed, band: .low, reward: 0.1)
            let syncedAt = EventFactory.now(offset: -60)
            let sync = EventFactory.taskSynced(user: "u1", count: 42, at: syncedAt)
            let tip = EventFactory.tip(user: "u1", tipID: "tip-9", action: .snoozed)

            try harness.publishAll([decision, sync, tip, inline, routed, plainRouting])
            let workers = try harness.startWorkers()
            defer { workers.stop() }
            try waitUntil(timeout: .seconds(20)) { try harness.count("decisions") == 1 }
            try harness.publish(joined)
            try waitUntil(timeout: .seconds(20)) { try harness.count("processed_events") == 7 }
            try harness.waitUntilDrained()

            // decisions, with the reward joined
            let decisionRow = try #require(
                try harness.query(
                    "SELECT event_id, user_id, policy, policy_version, arm_id, propensity, features::text, candidates::text, probabilities::text, explored, source, rewarded_event_id, reward FROM decisions"
                ).first)
            #expect(try decisionRow.uuid(0) == decision.eventID)
            #expect(try decisionRow.string(1) == "u1")
            #expect(try decisionRow.string(2) == "linucb_v1")
            #expect(try decisionRow.string(3) == "linucb_v1@1.0.0+a3f9c2e1")
            #expect(try decisionRow.string(4) == "a7")
            #expect(try decisionRow.double(5) == 0.25)
            #expect(try decisionRow.doubleArray(6) == decisionFeatures)
            #expect(try decisionRow.stringArray(7) == ["a7", "other"])
            #expect(try decisionRow.doubleArray(8) == [0.25, 0.75])
            #expect(try decisionRow.bool(9) == false)
            #expect(try decisionRow.string(10) == "prod")
            #expect(try decisionRow.uuid(11) == joined.eventID)
            #expect(try decisionRow.double(12) == -0.5)

            // bandit_state: the joined reward updates the decision's arm with its features
            #expect(
                try state(harness, user: "u1", policy: "linucb_v1", arm: "a7") == expected([(decisionFeatures, -0.5)]))
            #expect(
                try state(harness, user: "u1", policy: "linucb_v1", arm: "a2") == expected([(inlineFeatures, 0.75)]))
            #expect(
                try state(harness, user: "u1", policy: "routing_v1", arm: "gpt-x") == expected([(routingFeatures, 0.9)])
            )
            #expect(try harness.count("bandit_state") == 3)

            // routing_outcomes
            let routings = try harness.query(
                "SELECT user_id, task_type, task_type_source, policy_version, model, provider, constraint_band, cell, reward, latency_ms, cost_usd, completed, source FROM routing_outcomes ORDER BY user_id"
            )
            #expect(routings.count == 2)
            #expect(try routings[0].string(7) == "reasoning|gpt-x|high")
            #expect(try routings[0].string(2) == "caller")
            #expect(try routings[0].double(8) == 0.9)
            #expect(try routings[0].double(9) == 120.5)
            #expect(try routings[0].double(10) == 0.002)
            #expect(try routings[0].bool(11))
            #expect(try routings[0].string(12) == "prod")
            #expect(try routings[1].string(7) == "embed|m2|low")

            // user_sync and tip_feedback
            let syncRow = try #require(
                try harness.query("SELECT user_id, source, task_count, last_sync_at FROM user_sync").first)
            #expect(try syncRow.int(2) == 42)
            #expect(try syncRow.date(3) == syncedAt)
            let tipRow = try #require(
                try harness.query("SELECT event_id, user_id, tip_id, action, source FROM tip_feedback").first)
            #expect(try tipRow.uuid(0) == tip.eventID)
            #expect(try tipRow.string(2) == "tip-9")
            #expect(try tipRow.string(3) == "snoozed")

            // the ledger names subject, stream and sequence
            let ledger = try harness.query(
                "SELECT subject, stream FROM processed_events WHERE event_id = $1", [joined.eventID.uuidString])
            #expect(try ledger.first?.string(0) == "feedback.reward")
            #expect(try ledger.first?.string(1) == "FEEDBACK")
            #expect(workers.stop().isEmpty)
        }
    }

    @Test func anEventPublishedTwiceUnderDifferentMsgIdsIsAppliedOnce() async throws {
        try await withPipeline { harness in
            let reward = EventFactory.inlineReward(reward: 1)
            try harness.publish(reward, msgID: "first")
            try harness.publish(reward, msgID: "second")
            let workers = try harness.startWorkers()
            try harness.waitUntilDrained()
            workers.stop()
            let statistics = try #require(try state(harness, user: "u1", policy: "linucb_v1", arm: "a1"))
            #expect(statistics.n == 1)
            #expect(try harness.count("processed_events") == 1)
            #expect(workers.observer.counts.withLock { $0.acked } == 2)
            #expect(workers.observer.counts.withLock { $0.deadLettered }.isEmpty)
        }
    }

    @Test func aRewardPublishedBeforeItsDecisionIsParkedAndAppliedOnceTheDecisionArrives() async throws {
        try await withPipeline { harness in
            let decisionID = UUID()
            let workers = try harness.startWorkers(earlyRewardWait: .seconds(60))
            defer { workers.stop() }
            let reward = EventFactory.reward(decision: decisionID, reward: 1)
            try harness.publish(reward)
            try waitUntil(timeout: .seconds(10)) { workers.observer.counts.withLock { $0.parked } == 1 }
            // Parked: acked, its ledger row written, nothing applied yet, no delivery spent.
            #expect(try harness.count("parked_rewards") == 1)
            #expect(try harness.count("processed_events") == 1)
            #expect(try harness.consumerInfo("feedback").ackPending == 0)
            try harness.publish(EventFactory.decision(id: decisionID, arm: "late"))
            try waitUntil(timeout: .seconds(20)) { try harness.count("parked_rewards") == 0 }
            #expect(try harness.count("processed_events") == 2)
            #expect(try state(harness, user: "u1", policy: "linucb_v1", arm: "late")?.n == 1)
            let decision = try harness.query(
                "SELECT rewarded_event_id, reward, reward_origin FROM decisions WHERE decision_id = $1",
                [decisionID.uuidString])
            #expect(try decision.first?.uuid(0) == reward.eventID)
            #expect(try decision.first?.double(1) == 1)
            #expect(try decision.first?.string(2) == "event")
            #expect(workers.observer.counts.withLock { $0.deadLettered }.isEmpty)
            #expect(workers.observer.counts.withLock { $0.naked } == 0)
            #expect(try harness.consumerInfo("feedback").redelivered == 0)
        }
    }

    @Test func aRewardWhoseDecisionNeverArrivesIsDeadLetteredAfterTheEarlyRewardWaitWithItsBodyIntact() async throws {
        try await withPipeline(maxDeliver: 3) { harness in
            let reward = EventFactory.reward(decision: UUID())
            let body = PipelineHarness.encode(reward)
            try harness.publishRaw(
                subject: "feedback.reward", body: body, msgID: "r-1",
                headers: ["traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"])
            let started = ContinuousClock.now
            let workers = try harness.startWorkers(earlyRewardWait: .seconds(2))
            let letters = try harness.deadLetters(expecting: 1)
            let waited = ContinuousClock.now - started
            workers.stop()
            let letter = try #require(letters.first)
            #expect(letters.count == 1)
            #expect(waited >= .seconds(2))
            #expect(letter.subject == "deadletter.feedback.reward")
            #expect(letter.body == body)
            #expect(letter.headers["Deadletter-Reason"] == "max_deliveries")
            #expect(letter.headers["Deadletter-Detail"]?.contains("not yet seen") == true)
            #expect(letter.headers["Deadletter-Stream"] == "FEEDBACK")
            #expect(letter.headers["Deadletter-Seq"] == "1")
            // Parked at its first delivery: no redelivery was spent waiting for the decision.
            #expect(letter.headers["Deadletter-Deliveries"] == "1")
            #expect(letter.headers["Deadletter-Subject"] == "feedback.reward")
            #expect(letter.headers["Nats-Msg-Id"] == "dl-FEEDBACK-1")
            #expect(letter.headers["Deadletter-Original-Msg-Id"] == "r-1")
            #expect(letter.headers["traceparent"] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            #expect(try harness.count("processed_events") == 0)
            #expect(try harness.count("parked_rewards") == 0)
            #expect(try harness.consumerInfo("feedback").ackPending == 0)
            #expect(workers.observer.counts.withLock { $0.deadLettered } == [.maxDeliveries])
        }
    }

    @Test func aParkedRewardOutlivesItsWaitWhileTheSignalsConsumerIsHeld() async throws {
        try await withPipeline { harness in
            let held = Mutex(true)
            let workers = try harness.startWorkers(
                earlyRewardWait: .seconds(1), signalsHeld: { held.withLock { $0 } })
            defer { workers.stop() }
            try harness.publish(EventFactory.reward(decision: UUID()))
            try waitUntil(timeout: .seconds(10)) { workers.observer.counts.withLock { $0.parked } == 1 }
            Thread.sleep(forTimeInterval: 3)
            #expect(try harness.count("parked_rewards") == 1)
            #expect(workers.observer.counts.withLock { $0.deadLettered }.isEmpty)
            held.withLock { $0 = false }
            let letters = try harness.deadLetters(expecting: 1)
            #expect(letters.map { $0.headers["Deadletter-Reason"] } == ["max_deliveries"])
            #expect(try harness.count("parked_rewards") == 0)
        }
    }

    @Test func parkedRewardsForOneDecisionApplyOnceAndTheRestAreDeadLetteredWithTheirReason() async throws {
        try await withPipeline { harness in
            let decisionID = UUID()
            let workers = try harness.startWorkers(earlyRewardWait: .seconds(60))
            defer { workers.stop() }
            let first = EventFactory.reward(decision: decisionID, reward: 0.5)
            let second = EventFactory.reward(decision: decisionID, reward: -0.5)
            let stranger = EventFactory.reward(user: "u2", decision: decisionID, reward: 1)
            try harness.publish(first)
            try waitUntil(timeout: .seconds(10)) { workers.observer.counts.withLock { $0.parked } == 1 }
            try harness.publish(second)
            try harness.publish(stranger)
            try waitUntil(timeout: .seconds(10)) { workers.observer.counts.withLock { $0.parked } == 3 }
            try harness.publish(EventFactory.decision(id: decisionID, arm: "a9"))
            let letters = try harness.deadLetters(expecting: 2)
            #expect(
                Set(letters.compactMap { $0.headers["Deadletter-Reason"] })
                    == ["decision.already_rewarded", "decision.mismatch"])
            let statistics = try #require(try state(harness, user: "u1", policy: "linucb_v1", arm: "a9"))
            #expect(statistics.n == 1)
            #expect(statistics.rewardSum == 0.5)
            #expect(try harness.count("parked_rewards") == 0)
            // The decision and the reward that took it; the two dead-lettered ones left the ledger.
            #expect(try harness.count("processed_events") == 2)
        }
    }

    @Test func inAMixedBatchEveryGoodMessageCommitsAndEveryBadOneIsDeadLettered() async throws {
        try await withPipeline { harness in
            let good = (0..<40).map { EventFactory.inlineReward(user: "u\($0 % 4)", arm: "a\($0 % 3)", reward: 0.1) }
            try harness.publishAll(Array(good[..<20]))
            let bad: [(String, [UInt8], String)] = [
                ("feedback.reward", Array("{not json".utf8), "json.invalid"),
                ("feedback.bogus", Array("{}".utf8), "subject.unknown"),
                ("feedback.reward", Array(#"{"event_id":"x"}"#.utf8), "schema.invalid"),
                (
                    "feedback.reward", PipelineHarness.encode(EventFactory.inlineReward(policy: "nope")),
                    "policy.unknown"
                ),
                (
                    "feedback.reward", PipelineHarness.encode(EventFactory.inlineReward(features: [1, 2])),
                    "dimension.mismatch"
                ),
                ("feedback.reward", Array(repeating: UInt8(ascii: " "), count: 70_000), "payload.too_large"),
            ]
            for (index, (subject, body, _)) in bad.enumerated() {
                try harness.publishRaw(subject: subject, body: body, msgID: "bad-\(index)")
            }
            try harness.publishAll(Array(good[20...]))
            let workers = try harness.startWorkers(batchSize: 256, maxWait: .milliseconds(300))
            let letters = try harness.deadLetters(expecting: bad.count)
            try harness.waitUntilDrained()
            workers.stop()
            #expect(try harness.count("processed_events") == good.count)
            #expect(Set(letters.compactMap { $0.headers["Deadletter-Reason"] }) == Set(bad.map(\.2)))
            #expect(letters.count == bad.count)
            for letter in letters {
                let original = try #require(bad.first { $0.2 == letter.headers["Deadletter-Reason"] })
                #expect(letter.body == original.1)
                #expect(letter.subject == "deadletter.\(original.0)")
            }
            let total = try harness.query("SELECT sum(n) FROM bandit_state")[0].int(0)
            #expect(total == good.count)
        }
    }

    @Test func aSecondRewardForADecisionIsDeadLetteredAsAlreadyRewarded() async throws {
        try await withPipeline { harness in
            let decisionID = UUID()
            try harness.publish(EventFactory.decision(id: decisionID))
            let workers = try harness.startWorkers()
            try waitUntil(timeout: .seconds(10)) { try harness.count("decisions") == 1 }
            // Two in one batch (first wins) and one later.
            let first = EventFactory.reward(decision: decisionID, reward: 1)
            try harness.publishAll([first, EventFactory.reward(decision: decisionID, reward: -1)])
            let letters = try harness.deadLetters(expecting: 1)
            try harness.publish(EventFactory.reward(decision: decisionID, reward: 0.5))
            let more = try harness.deadLetters(expecting: 1)
            workers.stop()
            #expect(letters.count + more.count == 2)
            #expect((letters + more).allSatisfy { $0.headers["Deadletter-Reason"] == "decision.already_rewarded" })
            #expect(try harness.query("SELECT rewarded_event_id FROM decisions")[0].uuid(0) == first.eventID)
            #expect(try state(harness, user: "u1", policy: "linucb_v1", arm: "a1")?.rewardSum == 1)
        }
    }

    @Test func aRewardFromAnotherUserOrSourceIsADecisionMismatch() async throws {
        try await withPipeline { harness in
            let decisionID = UUID()
            try harness.publish(EventFactory.decision(user: "owner", id: decisionID))
            let workers = try harness.startWorkers()
            try waitUntil(timeout: .seconds(10)) { try harness.count("decisions") == 1 }
            try harness.publish(EventFactory.reward(user: "intruder", decision: decisionID))
            try harness.publish(EventFactory.reward(user: "owner", source: .synthetic, decision: decisionID))
            let letters = try harness.deadLetters(expecting: 2)
            workers.stop()
            #expect(letters.count == 2)
            #expect(letters.allSatisfy { $0.headers["Deadletter-Reason"] == "decision.mismatch" })
            #expect(try harness.count("bandit_state") == 0)
        }
    }

    @Test func syntheticAndShadowEventsNeverTouchProdState() async throws {
        try await withPipeline { harness in
            let features = EventFactory.features(5)
            try harness.publishAll([
                EventFactory.inlineReward(source: .prod, features: features, reward: 1),
                EventFactory.inlineReward(source: .synthetic, features: features, reward: -1),
                EventFactory.inlineReward(source: .synthetic, features: features, reward: -1),
                EventFactory.inlineReward(source: .shadow, features: features, reward: 0.5),
                EventFactory.routing(source: .synthetic, update: EventFactory.features(8)),
            ])
            let workers = try harness.startWorkers()
            try harness.waitUntilDrained()
            workers.stop()
            #expect(
                try state(harness, user: "u1", policy: "linucb_v1", source: "prod", arm: "a1")
                    == expected([(features, 1)]))
            #expect(try state(harness, user: "u1", policy: "linucb_v1", source: "synthetic", arm: "a1")?.n == 2)
            #expect(try state(harness, user: "u1", policy: "linucb_v1", source: "shadow", arm: "a1")?.n == 1)
            #expect(try harness.query("SELECT count(*) FROM routing_outcomes WHERE source = 'prod'")[0].int(0) == 0)
            #expect(try state(harness, user: "u1", policy: "routing_v1", source: "prod", arm: "m1") == nil)
        }
    }

    @Test func anOlderTaskSyncNeverOverwritesANewerOne() async throws {
        try await withPipeline { harness in
            let newer = EventFactory.now()
            try harness.publishAll([
                EventFactory.taskSynced(count: 10, at: newer),
                EventFactory.taskSynced(count: 3, at: newer.addingTimeInterval(-3600)),
            ])
            let workers = try harness.startWorkers(batchSize: 1)
            try harness.waitUntilDrained()
            try harness.publish(EventFactory.taskSynced(count: 5, at: newer.addingTimeInterval(-60)))
            try harness.waitUntilDrained()
            workers.stop()
            let row = try harness.query("SELECT task_count, last_sync_at FROM user_sync")[0]
            #expect(try row.int(0) == 10)
            #expect(try row.date(1) == newer)
        }
    }

    @Test func aRowTheDatabaseRefusesIsIsolatedAndTheRestOfItsBatchCommits() async throws {
        try await withPipeline { harness in
            // State stored under another dimension: the element-wise sum cannot apply (CHECK).
            _ = try harness.query(
                "INSERT INTO bandit_state (user_id, policy, source, arm_id, dimension, a, b, n, reward_sum) VALUES ('poison', 'linucb_v1', 'prod', 'a1', 1, '{1}', '{1}', 1, 1)"
            )
            let good = (0..<30).map { EventFactory.inlineReward(user: "u\($0)", reward: 0.2) }
            let poison = EventFactory.inlineReward(user: "poison", reward: 0.2)
            let poisonBody = PipelineHarness.encode(poison)  // JSONEncoder's key order varies: keep these bytes
            try harness.publishAll(Array(good[..<15]))
            try harness.publishRaw(subject: "feedback.reward", body: poisonBody, msgID: "poison")
            try harness.publishAll(Array(good[15...]))
            let workers = try harness.startWorkers(batchSize: 64, maxWait: .milliseconds(500))
            let letters = try harness.deadLetters(expecting: 1)
            try harness.waitUntilDrained()
            workers.stop()
            #expect(letters.count == 1)
            #expect(letters.first?.headers["Deadletter-Reason"] == "data.rejected")
            #expect(letters.first?.body == poisonBody)
            #expect(try harness.count("processed_events") == good.count)
        }
    }

    @Test func twoWorkersPerConsumerReachExactlyTheStateOfTheEvents() async throws {
        try await withPipeline { harness in
            var events: [Event] = []
            var expectedState: [String: ArmStatistics] = [:]
            for index in 0..<20_000 {
                let user = "u\(index % 50)"
                let arm = "a\(index % 7)"
                let features = EventFactory.features(5, seed: index)
                let reward = Double(index % 11) / 10 - 0.5
                events.append(EventFactory.inlineReward(user: user, arm: arm, features: features, reward: reward))
                expectedState["\(user)/\(arm)", default: .zero(dimension: 5)].add(features: features, reward: reward)
            }
            try harness.publishAll(events)
            let workers = try harness.startWorkers(perConsumer: 2, batchSize: 256)
            try harness.waitUntilDrained(timeout: .seconds(120))
            #expect(workers.stop().isEmpty)
            #expect(try harness.count("processed_events") == events.count)
            let rows = try harness.query("SELECT user_id, arm_id, a::text, b::text, n, reward_sum FROM bandit_state")
            #expect(rows.count == expectedState.count)
            for row in rows {
                let key = "\(try row.string(0))/\(try row.string(1))"
                let want = try #require(expectedState[key])
                #expect(try row.int64(4) == want.n)
                // Sums in another order differ in the last bits only.
                for (got, expected) in zip(
                    try row.doubleArray(2) + row.doubleArray(3) + [row.double(5)], want.a + want.b + [want.rewardSum])
                {
                    #expect(abs(got - expected) <= 1e-9 * max(1, abs(expected)))
                }
            }
        }
    }

    @Test func aKilledDatabaseConnectionLosesNothingAndDoublesNothing() async throws {
        try await withPipeline { harness in
            let events = (0..<3000).map { EventFactory.inlineReward(user: "u\($0 % 10)", reward: 0.1) }
            let workers = try harness.startWorkers(batchSize: 50, maxWait: .milliseconds(100))
            try harness.publishAll(events)
            try waitUntil(timeout: .seconds(30)) { try harness.count("processed_events") > 300 }
            try harness.postgres.terminateBackends(database: harness.database)
            try harness.waitUntilDrained(timeout: .seconds(90))
            workers.stop()
            #expect(try harness.count("processed_events") == events.count)
            #expect(try harness.query("SELECT sum(n) FROM bandit_state")[0].int(0) == events.count)
            #expect(workers.observer.counts.withLock { $0.deadLettered }.isEmpty)
        }
    }

    @Test(arguments: [PostgresServer.ShutdownMode.fast, .immediate])
    func aDatabaseRestartMidDrainLosesNothingAndDoublesNothing(mode: PostgresServer.ShutdownMode) async throws {
        try await withPipeline { harness in
            // The harness runs PostgreSQL with synchronous_commit off for speed; a commit must
            // reach the WAL before COMMIT returns for an immediate (crash) shutdown to keep it.
            try harness.postgres.psql("ALTER DATABASE \(harness.database) SET synchronous_commit = on")
            let events = (0..<3000).map { EventFactory.inlineReward(user: "u\($0 % 10)", reward: 0.1) }
            let workers = try harness.startWorkers(batchSize: 50, maxWait: .milliseconds(100))
            try harness.publishAll(events)
            try waitUntil(timeout: .seconds(30)) { try harness.count("processed_events") > 300 }
            try harness.postgres.restart(mode: mode)
            try harness.waitUntilDrained(timeout: .seconds(90))
            workers.stop()
            #expect(try harness.count("processed_events") == events.count)
            #expect(try harness.query("SELECT sum(n) FROM bandit_state")[0].int(0) == events.count)
            #expect(workers.observer.counts.withLock { $0.deadLettered }.isEmpty)
        }
    }

    @Test func anUnreachableDatabaseHoldsTheBatchWithoutSpendingDeliveries() async throws {
        try await withPipeline(maxDeliver: 2, ackWait: .seconds(3)) { harness in
            let workers = try harness.startWorkers(maxWait: .milliseconds(100))
            // Take the database away (rename it) for longer than ack wait × max_deliver.
            try harness.postgres.psql("ALTER DATABASE \(harness.database) ALLOW_CONNECTIONS false")
            try harness.postgres.terminateBackends(database: harness.database)
            // Two waves: the second arrives while the first batch is held, through the pull
            // request left open, and must be kept alive with it.
            try harness.publishAll((0..<10).map { _ in EventFactory.inlineReward(reward: 0.3) })
            Thread.sleep(forTimeInterval: 0.5)
            try harness.publishAll((0..<10).map { _ in EventFactory.inlineReward(reward: 0.3) })
            Thread.sleep(forTimeInterval: 8)
            try harness.postgres.psql("ALTER DATABASE \(harness.database) ALLOW_CONNECTIONS true")
            try harness.waitUntilDrained(timeout: .seconds(60))
            workers.stop()
            #expect(try harness.count("processed_events") == 20)
            #expect(workers.observer.counts.withLock { $0.deadLettered }.isEmpty)
            #expect(workers.observer.counts.withLock { $0.databaseDown } >= 1)
        }
    }

    @Test func consumptionResumesAfterTheNATSServerRestarts() async throws {
        try await withPipeline { harness in
            let workers = try harness.startWorkers(maxWait: .milliseconds(200))
            try harness.publishAll((0..<100).map { _ in EventFactory.inlineReward(reward: 0.3) })
            try waitUntil(timeout: .seconds(20)) { try harness.count("processed_events") == 100 }
            try harness.nats.restart()
            try waitUntil(timeout: .seconds(20)) { harness.connection.isConnected }
            try waitUntil(timeout: .seconds(20)) {
                (try? harness.publishAll((0..<100).map { _ in EventFactory.inlineReward(reward: 0.3) })) != nil
            }
            try waitUntil(timeout: .seconds(30)) { try harness.count("processed_events") == 200 }
            workers.stop()
            #expect(try harness.query("SELECT sum(n) FROM bandit_state")[0].int(0) == 200)
        }
    }
}
