import BanditCore
import BanditStore
import BanditWorker
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// CONTRACT section 10: the ledger and decisions retention, against real servers.
@Suite(.postgresServer, .serialized)
struct RetentionTests {
    static let day: Duration = .seconds(86_400)
    let retention = Retention(
        ledgerRetention: day * 14, decisionsRetention: day * 90, slice: 5000, pause: .zero, restFactor: 0)

    private func withPipeline(_ body: @escaping @Sendable (PipelineHarness) throws -> Void) async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let harness = try PipelineHarness(postgres: postgres)
            defer { harness.stop() }
            try body(harness)
        }
    }

    @Test func oldLedgerRowsAndOldClosedDecisionsGoInSlicesAndNothingYoungerOrOpenDoes() async throws {
        try await withPipeline { harness in
            let database = try PostgresConnection(conninfo: harness.conninfo)
            // 12,000 ledger rows 15 days old, 100 from 13 days ago, 100 from now.
            try database.query(
                """
                INSERT INTO processed_events (event_id, subject, stream, stream_seq, processed_at)
                SELECT gen_random_uuid(), 'feedback.reward', 'FEEDBACK', g,
                       now() - CASE WHEN g <= 12000 THEN interval '15 days' WHEN g <= 12100 THEN interval '13 days'
                                    ELSE interval '0' END
                FROM generate_series(1, 12200) AS g
                """)
            // Decisions: closed 100 days ago (go), open and 100 days old (stay), closed and 10 days old
            // (stay), 100 days old but closed just now (stay: a backfill keeps its whole retention).
            for (index, (age, closed)) in [(100, true), (100, false), (10, true), (100, true)].enumerated() {
                try database.query(
                    """
                    INSERT INTO decisions (decision_id, event_id, user_id, policy, policy_version, arm_id, propensity,
                                           features, source, occurred_at, reward, reward_origin, rewarded_at)
                    VALUES (gen_random_uuid(), gen_random_uuid(), $1, 'linucb_v1', 'linucb_v1@1.0.0+a3f9c2e1', 'a', 0.5,
                            '{0,0,0,0,0}', 'prod', now() - make_interval(days => $2::int),
                            CASE WHEN $3::boolean THEN 0.0 END, CASE WHEN $3::boolean THEN 'default' END,
                            CASE WHEN $3::boolean THEN now() - make_interval(days => $4::int) END)
                    """, ["u\(index)", "\(age)", closed ? "true" : "false", index == 3 ? "0" : "\(age)"])
            }
            var slices = 0
            let report = try retention.run(on: database) {
                slices += 1
                return true
            }
            #expect(report.ran)
            #expect(report.ledgerDeleted == 12_000)
            #expect(report.decisionsDeleted == 1)
            #expect(slices >= 4)  // 5,000 + 5,000 + 2,000 (+ the decisions' pass)
            #expect(try harness.count("processed_events") == 200)
            #expect(
                try harness.query("SELECT user_id FROM decisions ORDER BY user_id").map { try $0.string(0) } == [
                    "u1", "u2", "u3",
                ])
            let status = try LedgerStatus.read(on: database)
            #expect(status.lastRunOutcome == "ok")
            #expect(status.lastRunLedgerDeleted == 12_000)
            #expect(status.lastRunDecisionsDeleted == 1)
            #expect((status.oldestAgeSeconds ?? 0) > 12 * 86_400)
            // Nothing left to do: a second run deletes nothing.
            #expect(try retention.run(on: database) { true }.ledgerDeleted == 0)
        }
    }

    @Test func aSliceIsFollowedByTwiceItsOwnTimeAndAtLeastThePause() {
        let pacing = Retention(ledgerRetention: Self.day, decisionsRetention: Self.day)
        #expect(pacing.rest(after: .milliseconds(10)) == .milliseconds(200))
        #expect(pacing.rest(after: .milliseconds(100)) == .milliseconds(200))
        #expect(pacing.rest(after: .milliseconds(150)) == .milliseconds(300))
    }

    @Test func whileABacklogDrainsTheRestIsLongerLikeAutovacuumsCostDelay() {
        let pacing = Retention(ledgerRetention: Self.day, decisionsRetention: Self.day)
        #expect(pacing.rest(after: .milliseconds(10), backlogged: true) == .seconds(2))
        #expect(pacing.rest(after: .milliseconds(150), backlogged: true) == .seconds(3))
        #expect(pacing.rest(after: .milliseconds(150), backlogged: false) == .milliseconds(300))
    }

    @Test func theConsumerBacklogIsAnyConsumerPendingAboveTheThreshold() {
        let backlog = ConsumerBacklog(threshold: 512)
        #expect(!backlog.isDraining)
        backlog.record(.signals, pending: 512)
        #expect(!backlog.isDraining)
        backlog.record(.feedback, pending: 513)
        #expect(backlog.isDraining)
        backlog.record(.feedback, pending: 0)
        #expect(!backlog.isDraining)
    }

    /// Each slice's rest asks whether a backlog drains; while one does, the rest is the backlog
    /// pause; a stop asked for during a rest ends the run there, recorded as interrupted.
    @Test func aRunAsksForTheBacklogAfterEachSliceAndAStopEndsItDuringARest() async throws {
        try await withPipeline { harness in
            let database = try PostgresConnection(conninfo: harness.conninfo)
            try database.query(
                """
                INSERT INTO processed_events (event_id, subject, stream, stream_seq, processed_at)
                SELECT gen_random_uuid(), 'feedback.reward', 'FEEDBACK', g, now() - interval '15 days'
                FROM generate_series(1, 3000) AS g
                """)
            var yielding = Retention(
                ledgerRetention: Self.day * 14, decisionsRetention: Self.day * 90, slice: 1000, pause: .zero,
                restFactor: 0, backlogPause: .milliseconds(300), backlogRestFactor: 0)
            var asked = 0
            let started = ContinuousClock.now
            let report = try yielding.run(
                on: database,
                backlogged: {
                    asked += 1
                    return true
                }
            ) { true }
            #expect(report.ledgerDeleted == 3000)
            #expect(asked == 3)  // after each full slice; the fourth found nothing left
            #expect(ContinuousClock.now - started >= .milliseconds(900))

            try database.query(
                """
                INSERT INTO processed_events (event_id, subject, stream, stream_seq, processed_at)
                SELECT gen_random_uuid(), 'feedback.reward', 'FEEDBACK', g, now() - interval '15 days'
                FROM generate_series(1, 3000) AS g
                """)
            yielding.backlogPause = .seconds(600)
            var calls = 0
            let interrupted = try yielding.run(on: database, backlogged: { true }) {
                calls += 1
                return calls < 3  // the slice's check, one in the rest, then stop
            }
            #expect(interrupted.ledgerDeleted == 1000)
            #expect(try LedgerStatus.read(on: database).lastRunOutcome == "interrupted")
        }
    }

    @Test func onlyOneDaemonRunsRetentionAtATime() async throws {
        try await withPipeline { harness in
            let holder = try PostgresConnection(conninfo: harness.conninfo)
            try holder.query("SELECT pg_advisory_lock($1)", [String(Retention.advisoryLockKey)])
            let other = try PostgresConnection(conninfo: harness.conninfo)
            #expect(try !retention.run(on: other) { true }.ran)
            try holder.query("SELECT pg_advisory_unlock($1)", [String(Retention.advisoryLockKey)])
            #expect(try retention.run(on: other) { true }.ran)
        }
    }

    /// A message can be redelivered or re-published only while its stream keeps it (max_age,
    /// at most the ledger retention minus a day): its ledger row is then always still there.
    @Test func anEventRepublishedInsideTheStreamsMaxAgeIsNeverAppliedTwice() async throws {
        try await withPipeline { harness in
            let workers = try harness.startWorkers()
            defer { workers.stop() }
            let reward = EventFactory.inlineReward(user: "u1", arm: "a1", reward: 0.5)
            try harness.publish(reward, msgID: "first")
            try waitUntil(timeout: .seconds(10)) { try harness.count("processed_events") == 1 }
            let database = try PostgresConnection(conninfo: harness.conninfo)
            // Time passes: 6 days 23 hours (still inside a 7-day max_age); retention runs.
            try database.query("UPDATE processed_events SET processed_at = now() - interval '6 days 23 hours'")
            #expect(try retention.run(on: database) { true }.ledgerDeleted == 0)
            // The producer re-publishes it (a new message id: JetStream stores it again).
            try harness.publish(reward, msgID: "again")
            try waitUntil(timeout: .seconds(10)) { try harness.consumerInfo("feedback").ackPending == 0 }
            try waitUntil(timeout: .seconds(10)) { workers.observer.counts.withLock { $0.acked } == 2 }
            let n = try harness.query(
                "SELECT n FROM bandit_state WHERE user_id = 'u1' AND policy = 'linucb_v1' AND arm_id = 'a1'")
            #expect(try n.first?.int(0) == 1)
            // Past the ledger retention (which no stream copy outlives) the row goes.
            try database.query("UPDATE processed_events SET processed_at = now() - interval '14 days 1 hour'")
            #expect(try retention.run(on: database) { true }.ledgerDeleted == 1)
        }
    }
}
