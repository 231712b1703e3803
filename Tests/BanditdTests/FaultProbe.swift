import BanditCore
import BanditMath
import Foundation
import NATSKit
import PostgresKit
import Synchronization
import TestSupport
import Testing

/// The fault probe's setup (issue 10), scaled down for `make test`: the real `banditd` with the
/// systemd watchdog on, a short ack wait and a small `max_deliver`, so a fault of ~20 s outlasts
/// both the watchdog timeout and max_deliver × ack wait, as the probe's 40–75 s faults outlast
/// the shipped unit's `WatchdogSec=30s` and the default 5 × 30 s.
///
/// Scale: ack wait 6 s (production 30 s) gives the worker's session `lock_timeout` 1 s,
/// `statement_timeout` 2 s and `+WPI` every 2 s; the watchdog timeout is 6 s (the unit's 30 s),
/// so the daemon pings every 3 s — one fifth of the shipped timings throughout.
struct FaultProbe {
    static let ackWait = 6
    static let maxDeliver = 3
    static let watchdogTimeout: Duration = .seconds(6)
    /// A fault this long outlasts max_deliver × ack wait (18 s) and three watchdog timeouts.
    static let faultDuration: Duration = .seconds(21)

    let stack: OperationsStack
    let postgres: PostgresServer

    var databaseName: String { String(stack.databaseURL.split(separator: "/").last ?? "") }

    var environment: [String: String] {
        var environment = stack.environment
        environment["NATS_ACK_WAIT_S"] = "\(Self.ackWait)"
        environment["NATS_MAX_DELIVER"] = "\(Self.maxDeliver)"
        environment["WATCHDOG_USEC"] = "\(Self.watchdogTimeout.microseconds)"
        environment["BANDITD_BATCH_SIZE"] = "64"
        return environment
    }

    static func with(_ body: @escaping @Sendable (FaultProbe) throws -> Void) async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await OperationsStack.with { stack in
            defer { keepLogs(of: stack) }
            try body(FaultProbe(stack: stack, postgres: postgres))
        }
    }

    /// With `BANDITD_TEST_KEEP_LOGS=DIR`, the daemon and command logs of each test are copied
    /// there (the test's folder is removed when it ends).
    private static func keepLogs(of stack: OperationsStack) {
        guard let keep = ProcessInfo.processInfo.environment["BANDITD_TEST_KEEP_LOGS"] else { return }
        let files = FileManager.default
        try? files.createDirectory(atPath: keep, withIntermediateDirectories: true)
        for name in (try? files.contentsOfDirectory(atPath: stack.directory.path)) ?? [] where name.hasSuffix(".log") {
            let target = "\(keep)/\(name)"
            try? files.removeItem(atPath: target)
            try? files.copyItem(atPath: stack.directory.appending(name), toPath: target)
        }
    }

    /// Starts `banditd run` with the probe's environment (plus `extra`) and waits for READY=1.
    func startDaemon(log: String, extra: [String: String] = [:], readyCount: Int = 1) throws -> ChildProcess {
        try stack.startDaemon(environment: environment.merging(extra) { $1 }, log: log, readyCount: readyCount)
    }

    /// `banditd health`: its exit status and the JSON it printed.
    func health(socket: String? = nil) throws -> HealthReading {
        let result = try stack.run(
            ["health", "--socket", socket ?? stack.healthSocket], log: "health-\(UUID().uuidString).log")
        let object = try #require(try OperationsStack.json(result.output) as? [String: Any], "\(result.output)")
        return HealthReading(exitStatus: result.status, json: object)
    }

    /// Applied events: ledger rows that are not parked rewards.
    func applied(_ database: PostgresConnection) throws -> Int {
        try database.query(
            "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
        ).rows[0].int(0)
    }

    func count(_ table: String, _ database: PostgresConnection) throws -> Int {
        try database.query(SQL(unsafeRaw: "SELECT count(*) FROM \(table)")).rows[0].int(0)
    }

    /// Every message of the DEADLETTER stream, in order.
    func deadLetters(_ nats: NATSConnection) throws -> [StoredMessage] {
        var letters: [StoredMessage] = []
        var sequence: UInt64 = 1
        while let message = try nats.nextMessage(stream: "DEADLETTER", from: sequence, subject: "deadletter.>") {
            letters.append(message)
            sequence = message.sequence + 1
        }
        return letters
    }

    /// What every hold test checks once the fault is over: all applied once, state exact, nothing
    /// dead-lettered or redelivered, health ready again, no watchdog gap.
    func expectRecovered(
        _ workload: FaultWorkload, database: PostgresConnection, nats: NATSConnection,
        pings: WatchdogPings, faultStart: ContinuousClock.Instant, faultEnd: ContinuousClock.Instant
    ) throws {
        try stack.waitForProcessed(workload.events.count, database, timeout: .seconds(90))
        #expect(try count("parked_rewards", database) == 0)
        #expect(try workload.stateMismatches(database) == [])
        let decisions = try database.query("SELECT count(*), count(rewarded_event_id) FROM decisions").rows[0]
        #expect(try decisions.int(0) == workload.decisions)
        #expect(try decisions.int(1) == workload.joinedRewards)
        #expect(try deadLetters(nats).isEmpty)
        try waitUntil(timeout: .seconds(20)) { try health().status == "ready" }
        let after = try health()
        #expect(after.exitStatus == 0)
        #expect(after.total("redelivered") == 0, "a delivery was spent: \(after)")
        #expect(after.total("dead_lettered") == 0)
        #expect(after.workers.values.allSatisfy { $0["holding"] is NSNull }, "\(after)")
        for consumer in ["signals", "feedback"] {
            let info = try nats.consumerInfo(stream: consumer.uppercased(), consumer: "feature-pipeline-\(consumer)")
            #expect(info.ackPending == 0 && info.pending == 0 && info.redelivered == 0)
        }
        // systemd would have seen a ping at least every watchdog timeout, all through the fault.
        let gap = pings.largestGap(from: faultStart, to: faultEnd)
        #expect(gap < FaultProbe.watchdogTimeout, "largest gap between WATCHDOG=1: \(gap)")
        #expect(pings.count(since: faultStart) >= 5)
    }

    /// Log lines of the daemon (JSON objects) whose `msg` starts with `prefix`.
    static func logLines(_ daemon: ChildProcess, message prefix: String) -> [[String: Any]] {
        daemon.log().split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let message = object["msg"] as? String, message.hasPrefix(prefix)
            else { return nil }
            return object
        }
    }
}

/// What `banditd health` printed.
struct HealthReading: CustomStringConvertible {
    var exitStatus: Int32?
    var json: [String: Any]

    var status: String { json["status"] as? String ?? "?" }
    var ok: Bool { json["ok"] as? Bool ?? false }
    var postgresConnected: Bool { (json["postgres"] as? [String: Any])?["connected"] as? Bool ?? false }
    var workers: [String: [String: Any]] { json["workers"] as? [String: [String: Any]] ?? [:] }

    /// The hold code of worker loop `loop` (`signals-0`), nil while it does not hold.
    func holdCode(_ loop: String) -> String? {
        (workers[loop]?["holding"] as? [String: Any])?["code"] as? String
    }

    /// The hold code of the consumer's apply lanes (`feedback-0`, `feedback-1`, …), if any of
    /// them holds: which lane a user's messages take depends on the lane count.
    func holdCode(of consumer: String) -> String? {
        workers.keys.sorted().filter { $0.hasPrefix("\(consumer)-") && !$0.hasPrefix("\(consumer)-fetch") }
            .lazy.compactMap { holdCode($0) }.first
    }

    func holdReason(_ loop: String) -> String? {
        (workers[loop]?["holding"] as? [String: Any])?["reason"] as? String
    }

    /// The hold reason of the consumer's apply lanes, if any of them holds.
    func holdReason(of consumer: String) -> String? {
        workers.keys.sorted().filter { $0.hasPrefix("\(consumer)-") && !$0.hasPrefix("\(consumer)-fetch") }
            .lazy.compactMap { holdReason($0) }.first
    }

    /// Dead letters set aside, over every loop.
    var deadLettersWaiting: Int { workers.values.reduce(0) { $0 + ($1["dead_letters_waiting"] as? Int ?? 0) } }

    /// A counter of the contract's per-consumer object (`processed`, `redelivered`, `dead_lettered`).
    func counter(_ consumer: String, _ name: String) -> Int {
        let consumers = (json["nats"] as? [String: Any])?["consumers"] as? [String: Any]
        return (consumers?[consumer] as? [String: Any])?[name] as? Int ?? -1
    }

    func total(_ name: String) -> Int { counter("signals", name) + counter("feedback", name) }

    var description: String {
        guard let data = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]) else { return "?" }
        return "exit \(exitStatus.map(String.init) ?? "?"): \(String(decoding: data, as: UTF8.self))"
    }
}

/// When the daemon's `WATCHDOG=1` datagrams arrived, as systemd would see them: a thread polls
/// the notify socket every 20 ms and stamps each new ping.
final class WatchdogPings: Sendable {
    private let pings = Mutex<[ContinuousClock.Instant]>([])
    private let stopped = Mutex(false)
    private let done = DispatchSemaphore(value: 0)

    init(_ notify: NotifySocket) {
        let thread = Thread { [self] in
            var seen = notify.lines.filter { $0 == "WATCHDOG=1" }.count
            while !stopped.withLock({ $0 }) {
                let count = notify.lines.filter { $0 == "WATCHDOG=1" }.count
                if count > seen {
                    let now = ContinuousClock.now
                    pings.withLock { $0 += Array(repeating: now, count: count - seen) }
                    seen = count
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
            done.signal()
        }
        thread.start()
    }

    func stop() {
        stopped.withLock { $0 = true }
        done.wait()
    }

    func count(since start: ContinuousClock.Instant) -> Int { pings.withLock { $0.filter { $0 >= start }.count } }

    /// The longest time without a ping between `start` and `end`, counting from the last ping
    /// before `start` (or `start` itself) and up to `end`.
    func largestGap(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant = .now) -> Duration {
        let all = pings.withLock { $0 }
        var previous = all.last { $0 <= start } ?? start
        var largest: Duration = .zero
        for ping in all where ping > start && ping <= end {
            largest = max(largest, ping - previous)
            previous = ping
        }
        return max(largest, end - previous)
    }
}

/// Events with the state they must produce: inline rewards (linucb_v1, d = 5) on chosen keys,
/// decisions (egreedy_v1, d = 7) and the rewards that join them, tip feedback.
struct FaultWorkload {
    struct Key: Hashable {
        var user: String
        var policy: String
        var arm: String
    }

    var events: [Event] = []
    /// Every state update the events make, in order.
    var updates: [(key: Key, features: [Double], reward: Double)] = []
    var decisions = 0
    var joinedRewards = 0
    private var counter = 0

    /// An inline reward on (user, linucb_v1, arm).
    @discardableResult
    mutating func reward(user: String, arm: String) -> Event {
        counter += 1
        let features = (0..<5).map { Double((counter * 7 + $0 * 3) % 11) / 10 - 0.5 }
        let reward = Double(counter % 9) / 8 - 0.5
        let event = Event.reward(
            try! Reward(
                eventID: UUID(), occurredAt: Date(), userID: user, reward: reward,
                target: .inline(policy: "linucb_v1", armID: arm, features: features)))
        updates.append((Key(user: user, policy: "linucb_v1", arm: arm), features, reward))
        events.append(event)
        return event
    }

    /// A decision and the reward that joins it (returned separately: they go to two streams).
    mutating func decisionAndReward(user: String, arm: String) -> (decision: Event, reward: Event) {
        counter += 1
        let features = (0..<7).map { Double((counter * 5 + $0 * 7) % 13) / 10 - 0.6 }
        let reward = Double(counter % 5) / 4
        let decisionID = UUID()
        let decision = Event.decision(
            try! Decision(
                eventID: UUID(), occurredAt: Date(), userID: user, decisionID: decisionID, policy: "egreedy_v1",
                policyVersion: "egreedy_v1@1.0.0+a3f9c2e1", armID: arm, propensity: 0.5, features: features))
        let joined = Event.reward(
            try! Reward(
                eventID: UUID(), occurredAt: Date(), userID: user, reward: reward, target: .decision(id: decisionID))
        )
        updates.append((Key(user: user, policy: "egreedy_v1", arm: arm), features, reward))
        decisions += 1
        joinedRewards += 1
        events += [decision, joined]
        return (decision, joined)
    }

    mutating func tip(user: String) -> Event {
        let event = Event.tipFeedback(
            try! TipFeedback(eventID: UUID(), occurredAt: Date(), userID: user, tipID: "tip-1", action: .accepted))
        events.append(event)
        return event
    }

    mutating func sync(user: String, count: Int) -> Event {
        let event = Event.taskSynced(
            try! TaskSynced(eventID: UUID(), occurredAt: Date(), userID: user, taskCount: count))
        events.append(event)
        return event
    }

    /// The state the updates add up to, computed independently of the daemon.
    var expected: [Key: ArmStatistics] {
        var state: [Key: ArmStatistics] = [:]
        for update in updates {
            state[update.key, default: .zero(dimension: update.features.count)]
                .add(features: update.features, reward: update.reward)
        }
        return state
    }

    /// Adds another workload's events and updates to this one.
    mutating func merge(_ other: FaultWorkload) {
        events += other.events
        updates += other.updates
        decisions += other.decisions
        joinedRewards += other.joinedRewards
    }

    /// Every bandit_state row equals the independent sums (1e-9 relative), and no other row exists.
    func stateMismatches(_ database: PostgresConnection) throws -> [String] {
        var problems: [String] = []
        let expected = self.expected
        var seen = Set<Key>()
        for row in try database.query("SELECT user_id, policy, arm_id, a, b, n, reward_sum FROM bandit_state").rows {
            let key = Key(user: try row.string(0), policy: try row.string(1), arm: try row.string(2))
            seen.insert(key)
            guard let want = expected[key] else {
                problems.append("unexpected state row \(key)")
                continue
            }
            let a = try row.doubleArray(3)
            let b = try row.doubleArray(4)
            let n = try row.int64(5)
            let rewardSum = try row.double(6)
            if n != want.n || !Self.close(rewardSum, want.rewardSum) || a.count != want.a.count
                || b.count != want.b.count || !zip(a, want.a).allSatisfy(Self.close)
                || !zip(b, want.b).allSatisfy(Self.close)
            {
                problems.append(
                    "state \(key): n \(n) (expected \(want.n)), reward_sum \(rewardSum) (\(want.rewardSum))")
            }
        }
        for key in Set(expected.keys).subtracting(seen) { problems.append("state row \(key) missing") }
        return problems
    }

    static func close(_ lhs: Double, _ rhs: Double) -> Bool { abs(lhs - rhs) <= 1e-9 * max(1, abs(lhs), abs(rhs)) }
}

extension Duration {
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    var secondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
