// `make chaos`: faults while the real `banditd` drains a known set of events, then exactly-once
// proven from the database and the DEADLETTER stream alone (`make chaos`, `CHAOS_ARGS=--quick`).
import Foundation
import NATSKit
import PostgresKit
import TestServers

#if canImport(Glibc)
    import Glibc
#endif

struct ChaosOptions {
    var quick = false
    var only: String?
    var events: Int { quick ? 10_000 : 50_000 }

    init(_ arguments: ArraySlice<String>) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--quick": quick = true
            case "--only": only = iterator.next()
            default:
                FileHandle.standardError.write(Data("unknown argument \(argument) (--quick, --only NAME)\n".utf8))
                exit(2)
            }
        }
    }
}

struct ScenarioResult {
    var name: String
    var events: Int
    var seconds: Double
    var failures: [String]
    var figures: String
}

/// What a scenario does to the running system once the daemons drain the published set.
struct Scenario {
    var name: String
    var daemons = 1
    var cluster = false
    var synchronousCommit = false
    var environment: [String: String] = [:]
    /// A scenario with its own workload, fault and proof, run instead of the shared ones.
    var custom: ((PostgresServer) -> ScenarioResult)? = nil
    /// Runs the fault(s) while the daemons drain; returns figures for the table.
    var fault: (ChaosStack, ChaosEventSet) throws -> String
}

let options = ChaosOptions(CommandLine.arguments.dropFirst())

func fraction(_ set: ChaosEventSet, _ value: Double) -> Int { Int(Double(set.validEventIDs.count) * value) }

let scenarios: [Scenario] = [
    Scenario(name: "sigkill-5x") { stack, set in
        var generator = SystemRandomNumberGenerator()
        var at: [Int] = []
        for round in 1...5 {
            // A random moment after the restarted daemon has made progress again.
            stack.waitForProcessed(atLeast: max(fraction(set, Double(round) / 7), (at.last ?? 0) + fraction(set, 0.03)))
            Thread.sleep(forTimeInterval: Double.random(in: 0...0.15, using: &generator))
            at.append(stack.processedCount())
            stack.killDaemon(0)
            try stack.startDaemon(0)
        }
        return "SIGKILL at applied=\(at.map(String.init).joined(separator: ","))"
    },
    Scenario(name: "postgres-restart-fast", synchronousCommit: true) { stack, set in
        stack.waitForProcessed(atLeast: fraction(set, 0.3))
        let at = stack.processedCount()
        try stack.postgres.restart(mode: .fast)
        return "restart (fast) at applied=\(at)"
    },
    Scenario(name: "postgres-restart-immediate", synchronousCommit: true) { stack, set in
        stack.waitForProcessed(atLeast: fraction(set, 0.3))
        let at = stack.processedCount()
        try stack.postgres.restart(mode: .immediate)
        return "restart (immediate) at applied=\(at)"
    },
    Scenario(name: "nats-restart") { stack, set in
        stack.waitForProcessed(atLeast: fraction(set, 0.3))
        let at = stack.processedCount()
        try stack.nats?.restart()
        return "nats-server restart at applied=\(at)"
    },
    Scenario(
        name: "postgres-unreachable",
        environment: ["NATS_ACK_WAIT_S": "2", "NATS_MAX_DELIVER": "3"]
    ) { stack, set in
        stack.waitForProcessed(atLeast: fraction(set, 0.2))
        let at = stack.processedCount()
        // 12 s against a redelivery schedule of max_deliver 3 × ack wait 2 s = 6 s.
        try stack.postgres.psql("ALTER DATABASE \(stack.databaseName) ALLOW_CONNECTIONS false")
        try stack.postgres.terminateBackends(database: stack.databaseName)
        let start = ContinuousClock.now
        Thread.sleep(forTimeInterval: 12)
        try stack.postgres.psql("ALTER DATABASE \(stack.databaseName) ALLOW_CONNECTIONS true")
        let outage = (ContinuousClock.now - start).seconds
        return String(format: "outage %.1f s (schedule 3 × 2 s) at applied=%d", outage, at)
    },
    Scenario(name: "cluster-leader-stop", cluster: true, environment: ["NATS_MAX_ACK_PENDING": "20000"]) {
        stack, set in
        guard let cluster = stack.cluster else { throw ChaosError("no cluster") }
        stack.waitForProcessed(atLeast: fraction(set, 0.25))
        guard let leader = try stack.connection.streamInfo("FEEDBACK").cluster?.leader else {
            throw ChaosError("FEEDBACK has no leader")
        }
        let at = stack.processedCount()
        try cluster.stopNode(leader)
        // Keep draining on the two remaining nodes.
        stack.waitForProcessed(atLeast: fraction(set, 0.7), timeout: .seconds(180))
        let during = stack.processedCount() - at
        try cluster.script("start")
        let newLeader = ((try? stack.connection.streamInfo("FEEDBACK").cluster?.leader) ?? nil) ?? "?"
        return "stopped leader \(leader) at applied=\(at), \(during) applied without it, new leader \(newLeader)"
    },
    Scenario(name: "two-daemons-one-killed", daemons: 2) { stack, set in
        stack.waitForProcessed(atLeast: fraction(set, 0.3))
        let at = stack.processedCount()
        stack.killDaemon(1)
        return "SIGKILL of daemon 2/2 at applied=\(at)"
    },
    Scenario(name: "three-daemons-one-killed", daemons: 3) { stack, set in
        stack.waitForProcessed(atLeast: fraction(set, 0.3))
        let at = stack.processedCount()
        stack.killDaemon(2)
        return "SIGKILL of daemon 3/3 at applied=\(at)"
    },
    // Issue 10's probe: a watchdog-enforcing supervisor, max_deliver 3, a long row lock, kill -9s.
    Scenario(
        name: SupervisedRowLockScenario.name,
        custom: { SupervisedRowLockScenario.run(postgres: $0, quick: options.quick) },
        fault: { _, _ in throw ChaosError("runs its own flow") }),
    // Issue 14: reward wait windows close while two daemons are killed again and again.
    Scenario(
        name: RewardWindowKillScenario.name,
        custom: { RewardWindowKillScenario.run(postgres: $0, quick: options.quick) },
        fault: { _, _ in throw ChaosError("runs its own flow") }),
]

func run(_ scenario: Scenario, postgres: PostgresServer) -> ScenarioResult {
    if let custom = scenario.custom { return custom(postgres) }
    let start = ContinuousClock.now
    let set = ChaosEventSet(
        count: options.events, seed: UInt64(scenario.name.utf8.reduce(7) { $0 &* 31 &+ Int($1) } & 0xffff))
    var failures: [String] = []
    var figures = ""
    var stack: ChaosStack?
    do {
        let current = try ChaosStack(
            postgres: postgres, cluster: scenario.cluster, extraEnvironment: scenario.environment)
        stack = current
        if scenario.synchronousCommit {
            try postgres.psql("ALTER DATABASE \(current.databaseName) SET synchronous_commit = on")
        }
        try current.publish(set.messages)
        for index in 0..<scenario.daemons { try current.startDaemon(index) }
        figures = try scenario.fault(current, set)
        current.waitForDrain(set, timeout: .seconds(scenario.cluster ? 600 : 300))
        // Let anything still in flight settle, then stop the daemons before proving.
        current.stopDaemons()
        figures += "; \(set.validEventIDs.count) valid, \(set.invalidBodies.count) invalid, Σn \(set.rewardUpdates)"
        failures = Verifier.verify(set, stack: current)
    } catch {
        failures.append("scenario error: \(error)")
    }
    stack?.stop()
    return ScenarioResult(
        name: scenario.name, events: set.messages.count, seconds: (ContinuousClock.now - start).seconds,
        failures: failures, figures: figures)
}

let selected = scenarios.filter { scenario in options.only.map { scenario.name.contains($0) } ?? true }
if selected.isEmpty {
    FileHandle.standardError.write(
        Data("no scenario matches; scenarios: \(scenarios.map(\.name).joined(separator: ", "))\n".utf8))
    exit(2)
}

var results: [ScenarioResult] = []
do {
    let postgres = try PostgresServer.start()
    defer { postgres.stop() }
    for scenario in selected {
        print("== \(scenario.name)")
        fflush(nil)
        let result = run(scenario, postgres: postgres)
        for failure in result.failures { print("   FAIL: \(failure)") }
        print(
            String(
                format: "   %@ in %.1f s: %@", result.failures.isEmpty ? "passed" : "FAILED", result.seconds,
                result.figures))
        fflush(nil)
        results.append(result)
    }
} catch {
    print("chaos: cannot start PostgreSQL: \(error)")
    results.append(ScenarioResult(name: "setup", events: 0, seconds: 0, failures: ["\(error)"], figures: ""))
}

print("")
print("| scenario | events | time | result | figures |")
print("|---|---|---|---|---|")
for result in results {
    print(
        "| \(result.name) | \(result.events) | \(String(format: "%.1f s", result.seconds)) | \(result.failures.isEmpty ? "passed" : "FAILED") | \(result.figures) |"
    )
}
let failed = results.filter { !$0.failures.isEmpty }.count
print("\(results.count - failed) passed, \(failed) failed")
exit(failed > 0 ? 1 : 0)

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
