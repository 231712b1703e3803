import BanditCore
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// Issue 10's fault probe, against the real `banditd` and real servers: a database that cannot
/// take a batch (here a row locked elsewhere, a renamed table; read-only and a revoked grant are in
/// `RefusingDatabaseProcessTests`) holds the batch. Throughout the hold WATCHDOG=1 keeps arriving (defect 1: pings stopped, and systemd's
/// restarts spent deliveries — defect 2), `banditd health` is degraded naming the reason
/// (defect 4: it said ready), the reason is logged with backoff, nothing is dead-lettered and no
/// delivery is spent (defect 5: valid rewards dead-lettered on the other consumer); once the fault
/// ends every event is applied exactly once. Timings are the probe's at one fifth (`FaultProbe`).
@Suite(.postgresServer, .serialized)
struct FieldFaultsProcessTests {
    @Test func aRowLockedElsewhereHoldsTheBatchWithWatchdogPingsAndEveryEventAppliesOnceAfterRelease()
        async throws
    {
        try await FaultProbe.with { probe in
            // One apply lane: every feedback batch then needs the locked row (with several lanes
            // only the locked user's lane holds; `LaneIsolationTests` shows that).
            let daemon = try probe.startDaemon(log: "row-lock.log", extra: ["BANDITD_APPLY_LANES": "1"])
            let pings = WatchdogPings(probe.stack.notify)
            defer { pings.stop() }
            let nats = try probe.stack.connectNATS()
            let database = try probe.stack.connectDatabase()
            var workload = FaultWorkload()
            // The row to lock must exist: one reward on that key first.
            try probe.stack.publish([workload.reward(user: "u-locked", arm: "a-locked")], on: nats)
            try probe.stack.waitForProcessed(1, database, timeout: .seconds(30))

            // Another session holds the row, as `SELECT … FOR UPDATE` in an open transaction does.
            let locker = try probe.stack.connectDatabase()
            try locker.execute("BEGIN")
            let locked = try locker.query(
                "SELECT n FROM bandit_state WHERE user_id = 'u-locked' AND arm_id = 'a-locked' FOR UPDATE")
            #expect(locked.rows.count == 1)
            let faultStart = ContinuousClock.now
            // Rewards on the locked key and on four others, and signals, in three waves.
            var signalsDuringLock = 0
            for wave in 0..<3 {
                var feedback: [Event] = []
                for index in 0..<20 {
                    if index % 5 == 0 {
                        feedback.append(workload.reward(user: "u-locked", arm: "a-locked"))
                    } else {
                        feedback.append(workload.reward(user: "u-\(index % 4)", arm: "a-\(wave)"))
                    }
                }
                try probe.stack.publish(feedback, on: nats)
                try probe.stack.publish(
                    [workload.tip(user: "u-tips"), workload.sync(user: "u-\(wave)", count: wave)], on: nats)
                signalsDuringLock += 2
                Thread.sleep(forTimeInterval: 2)
            }
            try waitUntil(timeout: .seconds(15)) {
                try probe.health().holdCode(of: "feedback") == "postgres_lock_timeout"
            }
            let during = try probe.health()
            #expect(during.status == "degraded" && !during.ok && during.exitStatus != 0, "\(during)")
            #expect(during.postgresConnected, "PostgreSQL answers; the worker holds for a lock: \(during)")
            #expect(during.holdReason(of: "feedback")?.contains("lock timeout") == true)
            #expect(during.holdCode(of: "signals") == nil, "signals has no locked row: \(during)")
            // The other consumer goes on: the signals published during the lock are applied.
            try probe.stack.waitForProcessed(1 + signalsDuringLock, database, timeout: .seconds(20))

            let release = faultStart + FaultProbe.faultDuration
            Thread.sleep(forTimeInterval: max(0, (release - .now).secondsValue))
            // Held throughout: every feedback batch needs the locked row, and a batch is one
            // transaction, so the other keys of a held batch wait (and retry) with it.
            #expect(try probe.applied(database) == 1 + signalsDuringLock)
            #expect(try probe.health().holdCode(of: "feedback") == "postgres_lock_timeout")
            try locker.execute("ROLLBACK")
            let faultEnd = ContinuousClock.now

            try probe.expectRecovered(
                workload, database: database, nats: nats, pings: pings, faultStart: faultStart,
                faultEnd: faultEnd)
            let holds = FaultProbe.logLines(daemon, message: "holding the batch")
            #expect(holds.contains { $0["hold_reason"] as? String == "postgres_lock_timeout" })
            #expect(FaultProbe.logLines(daemon, message: "fetch loop stalled").isEmpty)
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    @Test func rewardsWaitingForDecisionsHeldOnTheOtherConsumerAreNotDeadLetteredAndApplyOnceAfter() async throws {
        try await FaultProbe.with { probe in
            // Rewards whose decision is unknown are parked and dead-lettered after 5 s — but not
            // while the signals worker, which carries their decisions, is held.
            // One apply lane, so that the decisions wait behind the tip feedback that fails.
            let daemon = try probe.startDaemon(
                log: "renamed.log", extra: ["BANDITD_EARLY_REWARD_WAIT_S": "5", "BANDITD_APPLY_LANES": "1"])
            let pings = WatchdogPings(probe.stack.notify)
            defer { pings.stop() }
            let nats = try probe.stack.connectNATS()
            let database = try probe.stack.connectDatabase()
            var workload = FaultWorkload()

            try probe.postgres.psql(
                "ALTER TABLE tip_feedback RENAME TO tip_feedback_away", database: probe.databaseName)
            let faultStart = ContinuousClock.now
            // A tip feedback (which needs the table), then decisions stuck behind it on SIGNALS…
            var signals = [workload.tip(user: "u-tips")]
            var rewards: [Event] = []
            for index in 0..<20 {
                let pair = workload.decisionAndReward(user: "u\(index % 4)", arm: "a\(index % 3)")
                signals.append(pair.decision)
                rewards.append(pair.reward)
            }
            try probe.stack.publish(signals, on: nats)
            try waitUntil(timeout: .seconds(15)) {
                try probe.health().holdCode(of: "signals") == "postgres_schema_problem"
            }
            // …and the rewards that join them on FEEDBACK: parked, no delivery spent.
            try probe.stack.publish(rewards, on: nats)
            try waitUntil(timeout: .seconds(15)) { try probe.count("parked_rewards", database) == rewards.count }
            let parkedAt = ContinuousClock.now
            let during = try probe.health()
            #expect(during.status == "degraded" && during.exitStatus != 0, "\(during)")
            #expect(during.holdReason(of: "signals")?.contains("schema problem") == true)
            #expect(during.holdCode(of: "feedback") == nil)

            // Three early-reward waits and more: still parked, nothing dead-lettered.
            Thread.sleep(forTimeInterval: max(15, (faultStart + FaultProbe.faultDuration - .now).secondsValue))
            #expect(ContinuousClock.now - parkedAt >= .seconds(15))
            #expect(try probe.count("parked_rewards", database) == rewards.count)
            #expect(try probe.deadLetters(nats).isEmpty)
            #expect(try probe.health().total("dead_lettered") == 0)
            #expect(try probe.applied(database) == 0)

            try probe.postgres.psql(
                "ALTER TABLE tip_feedback_away RENAME TO tip_feedback", database: probe.databaseName)
            let faultEnd = ContinuousClock.now
            try probe.expectRecovered(
                workload, database: database, nats: nats, pings: pings, faultStart: faultStart,
                faultEnd: faultEnd)
            #expect(try probe.count("tip_feedback", database) == 1)
            // A sweep later, still nothing dead-lettered.
            Thread.sleep(forTimeInterval: 2)
            #expect(try probe.deadLetters(nats).isEmpty)
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }
}
