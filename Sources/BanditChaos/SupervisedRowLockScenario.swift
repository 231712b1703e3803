import BanditMath
import Foundation
import NATSKit
import PostgresKit
import TestServers

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 10's probe, as a scenario: the daemon under a supervisor that enforces the watchdog like
/// the systemd unit, `max_deliver` 3, a `SELECT … FOR UPDATE` held on one bandit_state key for
/// 300 s (60 s with `--quick`) while rewards on that key and others are published, and the daemon
/// killed again and again meanwhile — with `kill -9`, and once by wedging it (SIGSTOP) so that the
/// supervisor's watchdog aborts and kills it. Each kill spends one delivery of every message the
/// daemon held; after three, the server gives up on them (the probe: 0 of 220 applied, 0
/// dead-lettered, nothing logged). Proven from the database and DEADLETTER alone: every published
/// message is applied exactly once or in DEADLETTER (`max_deliveries` for a valid one), never
/// both, never neither, and the state equals an independent recomputation over the applied ones.
///
/// Timings: the full run uses the shipped unit's and the probe's — ack wait 30 s (the default),
/// WatchdogSec=30s, SIGKILL 15 s after an unanswered SIGABRT (TimeoutAbortSec=15s), RestartSec=2s,
/// a 300 s lock. `--quick` scales them down: ack wait 5 s, watchdog 8 s, SIGKILL 5 s after the
/// SIGABRT, restart after 2 s, a 60 s lock. A holding daemon beats at least every lock timeout
/// (ack wait / 6) + retry wait (≤ ack wait / 3): 15 s, or 2.5 s with `--quick`.
enum SupervisedRowLockScenario {
    static let name = "supervised-row-lock"

    struct Timings {
        var lock: Duration
        var ackWaitSeconds: Int
        var watchdog: Duration
        var abortTimeout: Duration
        /// From one READY=1 to the next kill: longer than the ack wait after which the restarted
        /// daemon is handed the killed one's messages again.
        var killEvery: Duration
        var events: Int

        static let full = Timings(
            lock: .seconds(300), ackWaitSeconds: 30, watchdog: .seconds(30), abortTimeout: .seconds(15),
            killEvery: .seconds(36), events: 10_000)
        static let quick = Timings(
            lock: .seconds(60), ackWaitSeconds: 5, watchdog: .seconds(8), abortTimeout: .seconds(5),
            killEvery: .seconds(8), events: 2_000)
    }

    static func run(postgres: PostgresServer, quick: Bool) -> ScenarioResult {
        let start = ContinuousClock.now
        let timings = quick ? Timings.quick : Timings.full
        let lockDuration = timings.lock
        let killEvery = timings.killEvery
        let set = LockedKeyEventSet(count: timings.events, seed: 1010)
        var failures: [String] = []
        var figures = ""
        var stack: ChaosStack?
        var supervisor: WatchdogSupervisor?
        do {
            let current = try ChaosStack(
                postgres: postgres,
                extraEnvironment: [
                    "NATS_MAX_DELIVER": "3", "NATS_ACK_WAIT_S": "\(timings.ackWaitSeconds)",
                    "BANDITD_EARLY_REWARD_WAIT_S": "15",
                    "LOG_LEVEL": ProcessInfo.processInfo.environment["CHAOS_LOG_LEVEL"] ?? "notice",
                ])
            stack = current
            var environment = current.environment
            environment["BANDITD_HEALTH_SOCKET"] = current.directory.appending("health.sock")
            let watched = try WatchdogSupervisor(
                binary: daemonBinary, environment: environment, directory: current.directory,
                settings: .init(watchdog: timings.watchdog, abortTimeout: timings.abortTimeout))
            supervisor = watched
            guard watched.waitUntilReady(count: 1, timeout: .seconds(60)) else {
                throw ChaosError("the daemon did not get ready: \(watched.record)")
            }
            try current.publish([set.warmUp.outgoing])
            current.waitForProcessed(atLeast: 1, timeout: .seconds(30))

            // Another session holds the locked key's row for the whole fault.
            let locker = try PostgresConnection(conninfo: postgres.conninfo(database: current.databaseName))
            defer { locker.close() }
            try locker.execute("BEGIN")
            let locked = try locker.query(
                "SELECT n FROM bandit_state WHERE user_id = $1 AND arm_id = $2 FOR UPDATE",
                [LockedKeyEventSet.lockedUser, LockedKeyEventSet.lockedArm])
            guard locked.rows.count == 1 else { throw ChaosError("the locked key has no state row") }
            let lockStart = ContinuousClock.now
            let lockEnd = lockStart + lockDuration

            // The probe's shape: a wave of 200 messages (a batch's worth, like its 220 rewards) is
            // all the daemon holds, so each restart is handed the same messages again; after three
            // kills their deliveries are spent, and the next wave is published.
            var remaining = set.messages[...]
            func publishWave() throws {
                try current.publish(remaining.prefix(200).map(\.outgoing))
                remaining = remaining.dropFirst(200)
            }
            try publishWave()
            var kills = 0
            var freezes = 0
            var lastReady = ContinuousClock.now
            while ContinuousClock.now + killEvery < lockEnd {
                sleep(until: lastReady + killEvery)
                let readies = watched.record.readies
                if kills + freezes == 1 {
                    // Wedge it: pings stop, the watchdog aborts, then kills (SIGSTOP ignores SIGABRT).
                    watched.signal(SIGSTOP)
                    freezes += 1
                } else {
                    watched.signal(SIGKILL)
                    kills += 1
                }
                guard watched.waitUntilReady(count: readies + 1, timeout: .seconds(60)) else {
                    throw ChaosError("the daemon did not come back: \(watched.record)")
                }
                lastReady = ContinuousClock.now
                if (kills + freezes) % 3 == 0 { try publishWave() }
            }
            // The rest, still during the lock.
            try current.publish(remaining.map(\.outgoing))
            let lettersDuringLock = (try? current.connection.streamInfo("DEADLETTER").state.messages) ?? 0
            sleep(until: lockEnd)
            try locker.execute("ROLLBACK")

            let drained = waitUntilSettled(set, stack: current, timeout: .seconds(300))
            if !drained { failures.append("not settled within the drain timeout") }
            watched.stop()
            supervisor = nil
            let record = watched.record
            let verdict = LockedKeyVerifier.verify(set, stack: current)
            failures += verdict.failures
            if verdict.maxDeliveries == 0 {
                failures.append("no delivery ran out: the kills did not exercise max-deliveries recovery")
            }
            // Holding is not wedging: the only watchdog abort is the SIGSTOP's.
            if record.watchdogAborts != freezes || record.abortKills != freezes {
                failures.append(
                    "watchdog aborts \(record.watchdogAborts), kills after abort \(record.abortKills); expected \(freezes) (the SIGSTOP)"
                )
            }
            if let gaveUp = record.gaveUp { failures.append("supervisor: \(gaveUp)") }
            figures = String(
                format:
                    "lock %.0f s, %d kill -9 + %d watchdog abort (SIGSTOP), %d starts; %d applied, %d dead-lettered max_deliveries (%llu during the lock), %d invalid dead-lettered; largest ping gap of a running daemon %.1f s (watchdog %.0f s, ack wait %d s)",
                lockDuration.seconds, kills, freezes, record.starts, verdict.applied, verdict.maxDeliveries,
                lettersDuringLock, verdict.invalid, record.largestPingGap.seconds, timings.watchdog.seconds,
                timings.ackWaitSeconds)
        } catch {
            failures.append("scenario error: \(error)")
        }
        supervisor?.stop()
        if let keep = ProcessInfo.processInfo.environment["CHAOS_KEEP_LOGS"], let stack {
            keepLogs(of: stack, in: keep)
        }
        stack?.stop()
        return ScenarioResult(
            name: name, events: set.all.count, seconds: (ContinuousClock.now - start).seconds, failures: failures,
            figures: figures)
    }

    /// `CHAOS_KEEP_LOGS=DIR`: the daemons' logs (one per supervised run) are copied there.
    private static func keepLogs(of stack: ChaosStack, in folder: String) {
        let files = FileManager.default
        try? files.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in (try? files.contentsOfDirectory(atPath: stack.directory.path)) ?? [] where name.hasSuffix(".log") {
            try? files.removeItem(atPath: "\(folder)/\(name)")
            try? files.copyItem(atPath: stack.directory.appending(name), toPath: "\(folder)/\(name)")
        }
    }

    private static func sleep(until instant: ContinuousClock.Instant) {
        let remaining = instant - ContinuousClock.now
        if remaining > .zero { Thread.sleep(forTimeInterval: remaining.seconds) }
    }

    /// Until every message is applied or dead-lettered, the consumers hold and owe nothing, no
    /// reward is parked and every max-deliveries advisory is handled.
    private static func waitUntilSettled(_ set: LockedKeyEventSet, stack: ChaosStack, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let applied = (try? stack.query("SELECT count(*) FROM processed_events").rows[0].int(0)) ?? 0
            let parked = (try? stack.query("SELECT count(*) FROM parked_rewards").rows[0].int(0)) ?? 1
            let letters = Int((try? stack.connection.streamInfo("DEADLETTER").state.messages) ?? 0)
            let advisories = (try? stack.connection.streamInfo("feature-pipeline-max-deliveries").state.messages) ?? 1
            if applied + letters >= set.all.count, parked == 0, advisories == 0, stack.isDrained() { return true }
            Thread.sleep(forTimeInterval: 0.5)
        }
        return false
    }
}

/// Proves the scenario's outcome from the database and DEADLETTER alone.
enum LockedKeyVerifier {
    struct Verdict {
        var failures: [String] = []
        var applied = 0
        var maxDeliveries = 0
        var invalid = 0
    }

    static func verify(_ set: LockedKeyEventSet, stack: ChaosStack) -> Verdict {
        var verdict = Verdict()
        func check(_ condition: Bool, _ message: @autoclosure () -> String) {
            if !condition { verdict.failures.append(message()) }
        }
        do {
            let ledger = Set(
                try stack.query("SELECT event_id::text FROM processed_events").rows.map { try $0.string(0) })
            var letters: [String: (reason: String, body: [UInt8])] = [:]
            var duplicates = 0
            var sequence: UInt64 = 1
            while let letter = try stack.connection.nextMessage(
                stream: "DEADLETTER", from: sequence, subject: "deadletter.>")
            {
                sequence = letter.sequence + 1
                let original = letter.headers["Deadletter-Original-Msg-Id"] ?? "?"
                if letters[original] != nil { duplicates += 1 }
                letters[original] = (letter.headers["Deadletter-Reason"] ?? "?", letter.body)
            }
            check(duplicates == 0, "\(duplicates) messages dead-lettered twice")

            // Every message exactly once: applied, or dead-lettered — never both, never neither.
            var inNeither = 0
            var inBoth = 0
            var wrongReason = 0
            var wrongBody = 0
            var appliedDecisions: [UUID: (key: ChaosEventSet.StateKey, features: [Double])] = [:]
            for message in set.all {
                let applied = message.effect != nil && ledger.contains(message.msgID)
                let letter = letters[message.msgID]
                if applied && letter != nil { inBoth += 1 }
                if !applied && letter == nil { inNeither += 1 }
                if let letter {
                    if letter.body != message.outgoing.body { wrongBody += 1 }
                    if message.effect == nil {
                        verdict.invalid += 1
                        // An invalid message in a held batch may run out of deliveries first.
                        if letter.reason != message.invalidReason && letter.reason != "max_deliveries" {
                            wrongReason += 1
                        }
                    } else if letter.reason == "max_deliveries" {
                        verdict.maxDeliveries += 1
                    } else {
                        wrongReason += 1
                    }
                }
                if applied {
                    verdict.applied += 1
                    if case .decision(let id, let key, let features) = message.effect {
                        appliedDecisions[id] = (key, features)
                    }
                }
            }
            check(inNeither == 0, "\(inNeither) messages neither applied nor dead-lettered")
            check(inBoth == 0, "\(inBoth) messages both applied and dead-lettered")
            check(wrongReason == 0, "\(wrongReason) dead letters with an unexpected reason")
            check(wrongBody == 0, "\(wrongBody) dead-letter bodies differ from the published bytes")
            let published = Set(set.all.map(\.msgID))
            check(ledger.isSubset(of: published), "\(ledger.subtracting(published).count) unknown ledger rows")
            check(
                Set(letters.keys).isSubset(of: published),
                "\(Set(letters.keys).subtracting(published).count) unknown dead letters")
            let parked = try stack.query("SELECT count(*) FROM parked_rewards").rows[0].int(0)
            check(parked == 0, "parked_rewards still holds \(parked) rows")

            // The state, recomputed over the applied messages only.
            var expected: [ChaosEventSet.StateKey: ArmStatistics] = [:]
            var joined = 0
            var tips = 0
            var syncs: [String: Int] = [:]
            var orphanRewards = 0
            for message in set.all where message.effect != nil && ledger.contains(message.msgID) {
                switch message.effect! {
                case .inline(let key, let features, let reward):
                    expected[key, default: .zero(dimension: features.count)].add(features: features, reward: reward)
                case .decision:
                    break
                case .joined(let decisionID, let reward):
                    guard let decision = appliedDecisions[decisionID] else {
                        orphanRewards += 1
                        continue
                    }
                    expected[decision.key, default: .zero(dimension: decision.features.count)]
                        .add(features: decision.features, reward: reward)
                    joined += 1
                case .tip:
                    tips += 1
                case .sync(let user, let count):
                    syncs[user] = count
                }
            }
            check(orphanRewards == 0, "\(orphanRewards) joined rewards applied without their decision")
            var mismatched = 0
            var firstMismatch: String?
            var seen = Set<ChaosEventSet.StateKey>()
            for row in try stack.query("SELECT user_id, policy, arm_id, a, b, n, reward_sum FROM bandit_state").rows {
                let key = ChaosEventSet.StateKey(
                    user: try row.string(0), policy: try row.string(1), arm: try row.string(2))
                seen.insert(key)
                guard let want = expected[key] else {
                    mismatched += 1
                    firstMismatch = firstMismatch ?? "unexpected state row \(key)"
                    continue
                }
                let a = try row.doubleArray(3)
                let b = try row.doubleArray(4)
                if try row.int64(5) != want.n || !Verifier.close(try row.double(6), want.rewardSum)
                    || a.count != want.a.count || b.count != want.b.count
                    || !zip(a, want.a).allSatisfy(Verifier.close) || !zip(b, want.b).allSatisfy(Verifier.close)
                {
                    mismatched += 1
                    firstMismatch = firstMismatch ?? "state \(key) differs"
                }
            }
            check(mismatched == 0, "\(mismatched) bandit_state rows differ (\(firstMismatch ?? ""))")
            check(seen == Set(expected.keys), "bandit_state has \(seen.count) keys, expected \(expected.count)")
            let decisions = try stack.query("SELECT count(*), count(rewarded_event_id) FROM decisions").rows[0]
            let decisionRows = try decisions.int(0)
            let rewarded = try decisions.int(1)
            check(
                decisionRows == appliedDecisions.count,
                "decisions: \(decisionRows) rows, expected \(appliedDecisions.count)")
            check(rewarded == joined, "decisions rewarded: \(rewarded), expected \(joined)")
            let tipRows = try stack.query("SELECT count(*) FROM tip_feedback").rows[0].int(0)
            check(tipRows == tips, "tip_feedback: \(tipRows), expected \(tips)")
            var syncRows: [String: Int] = [:]
            for row in try stack.query("SELECT user_id, task_count FROM user_sync").rows {
                syncRows[try row.string(0)] = try row.int(1)
            }
            check(syncRows == syncs, "user_sync: \(syncRows.count) rows, expected \(syncs.count)")
        } catch {
            verdict.failures.append("verification failed: \(error)")
        }
        return verdict
    }
}
