import BanditOperations
import Foundation
import NATSKit
import PostgresKit
import TestServers

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 14's exactly-once check under SIGKILL: two daemons share the consumers and the closing
/// job while the reward wait windows of thousands of decisions pass, and `kill -9` hits them one
/// after the other — every other kill aimed at a moment when `pg_stat_activity` shows the
/// victim's closing transaction open (its decisions locked, the commit not yet made). Each killed
/// daemon is restarted at once; the other one is running at every kill, so the contract's "within
/// 15 s of the window passing while at least one daemon runs" applies throughout.
///
/// The workload (``RewardLoopEventSet``): a third of the decisions are rewarded on time, a third
/// never (closed with the default), a third get a reward once they are seen closed (late
/// correction); some rewarded ones get a second reward, which must be dead-lettered as
/// `decision.already_rewarded`. An epilogue without kills checks the counters: the health JSON's
/// `reward_loop` and the metrics' `banditd_decisions_closed_by_default_total` /
/// `banditd_rewards_late_total` must rise by exactly what the database shows.
///
/// Proven from the database and DEADLETTER alone (``RewardLoopVerifier``).
enum RewardWindowKillScenario {
    static let name = "reward-window-kills"

    struct Timings {
        /// `reward_wait_s` of both policies.
        var windowSeconds: Int
        var decisions: Int
        /// Windows pass between these many seconds after publishing (on-time ones after the second).
        var firstDeadline: Double
        var onTimeFirstDeadline: Double
        var lastDeadline: Double
        /// Seconds between kills.
        var killEvery: ClosedRange<Double>

        static let full = Timings(
            windowSeconds: 90, decisions: 12_000, firstDeadline: 3, onTimeFirstDeadline: 20, lastDeadline: 85,
            killEvery: 1...3)
        static let quick = Timings(
            windowSeconds: 30, decisions: 3_000, firstDeadline: 3, onTimeFirstDeadline: 15, lastDeadline: 28,
            killEvery: 1...2.5)
    }

    static let epilogueDecisions = 40

    static func run(postgres: PostgresServer, quick: Bool) -> ScenarioResult {
        let start = ContinuousClock.now
        let timings = quick ? Timings.quick : Timings.full
        let set = RewardLoopEventSet(
            count: timings.decisions, seed: 1414, firstDeadline: timings.firstDeadline,
            onTimeFirstDeadline: timings.onTimeFirstDeadline, lastDeadline: timings.lastDeadline)
        let epilogue = RewardLoopEventSet(
            count: epilogueDecisions, seed: 1414, firstIndex: timings.decisions, fates: [.byDefault, .late],
            firstDeadline: 2, onTimeFirstDeadline: 2, lastDeadline: 4, secondRewardEvery: Int.max)
        var failures: [String] = []
        var figures = ""
        var stack: ChaosStack?
        do {
            let current = try ChaosStack(
                postgres: postgres,
                extraEnvironment: [
                    "LOG_LEVEL": ProcessInfo.processInfo.environment["CHAOS_LOG_LEVEL"] ?? "warning"
                ])
            stack = current
            let configFile = current.directory.appending("reward-loop.json")
            try Data(configuration(windowSeconds: timings.windowSeconds).utf8).write(
                to: URL(fileURLWithPath: configFile))
            current.daemonArguments = ["run", "--config", configFile]
            for index in 0..<2 { try current.startDaemon(index) }
            for index in 0..<2 where !waitUntilReady(current, daemon: index, timeout: .seconds(60)) {
                throw ChaosError("daemon \(index) did not get ready")
            }

            // Main phase: windows pass while the daemons are killed.
            var publisher = FollowUpPublisher(set: set)
            let publishedAt = Date()
            let phaseStart = ContinuousClock.now
            try current.publish(set.initialMessages(publishedAt: publishedAt, rewardWaitSeconds: timings.windowSeconds))
            let kills = try killWhileWindowsPass(
                current, timings: timings, until: phaseStart + .seconds(timings.lastDeadline + 3),
                publisher: &publisher)
            guard try settle(current, publisher: &publisher, timeout: .seconds(180)) else {
                throw ChaosError("not settled: \(publisher.progress)")
            }

            // Epilogue: no kills; the counters of the two running daemons rise by what happens.
            for index in 0..<2 where !waitUntilReady(current, daemon: index, timeout: .seconds(60)) {
                throw ChaosError("daemon \(index) did not get ready after the kills")
            }
            let before = try counters(current)
            var epiloguePublisher = FollowUpPublisher(set: epilogue)
            try current.publish(
                epilogue.initialMessages(publishedAt: Date(), rewardWaitSeconds: timings.windowSeconds))
            guard try settle(current, publisher: &epiloguePublisher, timeout: .seconds(60)) else {
                throw ChaosError("epilogue not settled: \(epiloguePublisher.progress)")
            }
            let closed = epilogue.decisions.count
            let late = epilogue.decisions.count { $0.fate == .late }
            let after = try waitForCounters(current, from: before, closed: closed, late: late)
            for (name, value, expected) in [
                ("health reward_loop.closed_by_default", after.health.closed - before.health.closed, closed),
                ("health reward_loop.late_corrected", after.health.late - before.health.late, late),
                ("banditd_decisions_closed_by_default_total", after.metrics.closed - before.metrics.closed, closed),
                ("banditd_rewards_late_total", after.metrics.late - before.metrics.late, late),
            ] where value != expected {
                failures.append("\(name) rose by \(value) over the epilogue, expected \(expected)")
            }

            current.stopDaemons()
            let verdict = RewardLoopVerifier.verify(
                set.decisions + epilogue.decisions, windowSeconds: timings.windowSeconds, stack: current)
            failures += verdict.failures
            if kills.insideClosing == 0 {
                failures.append("no kill landed inside an open closing transaction: the fault was not exercised")
            }
            let origins = verdict.origins.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            figures = String(
                format:
                    "window %d s, %d decisions (%@); %d kill -9 of 2 daemons, %d inside an open closing transaction; closed %.1f–%.1f s after the window; %d second rewards dead-lettered; epilogue counters +%d/+%d",
                timings.windowSeconds, verdict.decisions, origins.joined(separator: ", "), kills.total,
                kills.insideClosing, verdict.closingDelay.lowerBound, verdict.closingDelay.upperBound,
                verdict.alreadyRewarded, closed, late)
        } catch {
            failures.append("scenario error: \(error)")
        }
        stack?.stop()
        return ScenarioResult(
            name: name, events: set.decisions.count + epilogue.decisions.count,
            seconds: (ContinuousClock.now - start).seconds, failures: failures, figures: figures)
    }

    /// The daemons' configuration file: the two policies with the window (the rest from the
    /// environment, as in every scenario).
    static func configuration(windowSeconds: Int) -> String {
        let policies = RewardLoopEventSet.policies.map { policy in
            let algorithm =
                policy.name.hasPrefix("linucb")
                ? #""algorithm": "linucb", "alpha": 1.0"# : #""algorithm": "egreedy", "epsilon": 0.1"#
            return
                #"{ "name": "\#(policy.name)", \#(algorithm), "dimension": \#(policy.dimension), "lambda": 1.0, "version": "1.0.0", "reward_wait_s": \#(windowSeconds), "default_reward": \#(policy.defaultReward) }"#
        }
        return "{ \"policies\": [\n  \(policies.joined(separator: ",\n  "))\n] }\n"
    }

    struct Kills {
        var total = 0
        var insideClosing = 0
    }

    /// Kills daemon 0 and 1 in turn until `end`, every other kill (per daemon) aimed at its open
    /// closing transaction, restarting each at once; publishes follow-up rewards meanwhile.
    static func killWhileWindowsPass(
        _ stack: ChaosStack, timings: Timings, until end: ContinuousClock.Instant, publisher: inout FollowUpPublisher
    ) throws -> Kills {
        var kills = Kills()
        var generator = SystemRandomNumberGenerator()
        var nextKill = ContinuousClock.now + .seconds(Double.random(in: timings.killEvery, using: &generator))
        var nextFollowUp = ContinuousClock.now
        while ContinuousClock.now < end {
            if ContinuousClock.now >= nextFollowUp {
                try publisher.step(stack)
                nextFollowUp = ContinuousClock.now + .milliseconds(300)
            }
            guard ContinuousClock.now >= nextKill else {
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            let victim = kills.total % 2
            // The other daemon runs at every kill.
            guard waitUntilReady(stack, daemon: 1 - victim, timeout: .seconds(30)) else {
                throw ChaosError("daemon \(1 - victim) is not ready")
            }
            var inside = false
            if (kills.total / 2) % 2 == 0 {
                // Aimed: wait (up to a little more than the closing job's interval) for its open
                // closing transaction.
                let give = ContinuousClock.now + .seconds(6)
                while ContinuousClock.now < give {
                    if isClosing(stack, daemon: victim) {
                        inside = true
                        break
                    }
                    if ContinuousClock.now >= nextFollowUp {
                        try publisher.step(stack)
                        nextFollowUp = ContinuousClock.now + .milliseconds(300)
                    }
                    Thread.sleep(forTimeInterval: 0.003)
                }
            }
            stack.killDaemon(victim)
            try stack.startDaemon(victim)
            kills.total += 1
            if inside { kills.insideClosing += 1 }
            nextKill = ContinuousClock.now + .seconds(Double.random(in: timings.killEvery, using: &generator))
        }
        return kills
    }

    /// Whether a session of daemon `index` holds an open transaction whose last statement is the
    /// closing job's (the `SELECT … FOR UPDATE SKIP LOCKED` of the due decisions, or the `UPDATE`
    /// that marks them 'default'): it has locked decisions (so it has a transaction id) and has
    /// not committed.
    static func isClosing(_ stack: ChaosStack, daemon index: Int) -> Bool {
        let rows = try? stack.query(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = $1 AND backend_xid IS NOT NULL
              AND (query LIKE '%make_interval(secs%' OR query LIKE '%reward_origin = ''default''%')
            """, [stack.applicationName(ofDaemon: index)]
        ).rows
        return ((try? rows?.first?.int(0)) ?? 0) > 0
    }

    static func waitUntilReady(_ stack: ChaosStack, daemon index: Int, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let answer = try? HealthClient.query(socketPath: stack.healthSocket(ofDaemon: index)),
                HealthClient.isOK(healthJSON: answer)
            {
                return true
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// Until every planned decision has its final reward origin, every follow-up is published and
    /// settled (second rewards dead-lettered), nothing is parked and the consumers owe nothing.
    static func settle(_ stack: ChaosStack, publisher: inout FollowUpPublisher, timeout: Duration) throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            try publisher.step(stack)
            if publisher.isComplete,
                (try? stack.query("SELECT count(*) FROM parked_rewards").rows[0].int(0)) == 0,
                stack.isDrained()
            {
                return true
            }
            Thread.sleep(forTimeInterval: 0.3)
        }
        return false
    }

    struct Counts: Equatable {
        var closed = 0
        var late = 0
    }

    /// Summed over both daemons: the health JSON's `reward_loop` and the two metrics.
    static func counters(_ stack: ChaosStack) throws -> (health: Counts, metrics: Counts) {
        struct Health: Decodable {
            struct RewardLoop: Decodable {
                var closed_by_default: Int
                var late_corrected: Int
            }
            var reward_loop: RewardLoop
        }
        var health = Counts()
        var metrics = Counts()
        for index in 0..<2 {
            let socket = stack.healthSocket(ofDaemon: index)
            let answer = try JSONDecoder().decode(
                Health.self, from: Data(try HealthClient.query(socketPath: socket).utf8))
            health.closed += answer.reward_loop.closed_by_default
            health.late += answer.reward_loop.late_corrected
            let text = try HealthClient.query(socketPath: socket, command: "metrics")
            metrics.closed += sample("banditd_decisions_closed_by_default_total", in: text)
            metrics.late += sample("banditd_rewards_late_total", in: text)
        }
        return (health, metrics)
    }

    /// The value of an unlabelled sample in Prometheus text (0 when absent).
    static func sample(_ name: String, in text: String) -> Int {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Int(Double(line.split(separator: " ").last ?? "") ?? -1)
        }
        return 0
    }

    /// The counters once they have risen by at least the expected amounts (a daemon counts just
    /// after its commit), then once more a moment later, so that an excess would show.
    static func waitForCounters(
        _ stack: ChaosStack, from before: (health: Counts, metrics: Counts), closed: Int, late: Int
    ) throws -> (health: Counts, metrics: Counts) {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let now = try counters(stack)
            if now.health.closed - before.health.closed >= closed, now.health.late - before.health.late >= late {
                break
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        Thread.sleep(forTimeInterval: 1)
        return try counters(stack)
    }
}

/// Publishes each late reward once its decision is seen closed with the default, and each second
/// reward once the first is seen applied; knows when everything planned has happened.
struct FollowUpPublisher {
    let set: RewardLoopEventSet
    private var lateSent: Set<UUID> = []
    private var secondSent: Set<UUID> = []
    private var plannedSeconds: Int

    init(set: RewardLoopEventSet) {
        self.set = set
        plannedSeconds = set.decisions.count { $0.secondRewardEventID != nil }
    }

    /// Every decision has its final origin and every second reward is dead-lettered.
    private(set) var isComplete = false

    mutating func step(_ stack: ChaosStack) throws {
        let ids = set.decisions.map(\.decisionID)
        var origins: [UUID: String] = [:]
        for row in try stack.query(
            "SELECT decision_id::text, reward_origin FROM decisions WHERE decision_id = ANY($1::uuid[]) AND reward_origin IS NOT NULL",
            ["{\(ids.map(\.uuidString).joined(separator: ","))}"]
        ).rows {
            if let id = UUID(uuidString: try row.string(0)) { origins[id] = try row.string(1) }
        }
        var messages: [NATSConnection.OutgoingMessage] = []
        var complete = 0
        let now = Date()
        for decision in set.decisions {
            let origin = origins[decision.decisionID]
            if decision.fate == .late, origin == "default", !lateSent.contains(decision.decisionID) {
                messages.append(set.rewardMessage(decision, second: false, at: now))
                lateSent.insert(decision.decisionID)
            }
            if decision.secondRewardEventID != nil, origin == decision.fate.rawValue,
                !secondSent.contains(decision.decisionID)
            {
                messages.append(set.rewardMessage(decision, second: true, at: now))
                secondSent.insert(decision.decisionID)
            }
            if origin == decision.fate.rawValue { complete += 1 }
        }
        if !messages.isEmpty { try stack.publish(messages) }
        let letters = Int((try? stack.connection.streamInfo("DEADLETTER").state.messages) ?? 0)
        isComplete = complete == set.decisions.count && secondSent.count == plannedSeconds && letters >= plannedSeconds
    }

    var progress: String {
        "\(lateSent.count) late and \(secondSent.count) of \(plannedSeconds) second rewards published"
    }
}
