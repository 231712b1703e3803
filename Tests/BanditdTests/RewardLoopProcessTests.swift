import BanditCore
import Foundation
import NATSKit
import PostgresKit
import Synchronization
import TestSupport
import Testing

/// CONTRACT section 8 through the real binary: `simulate --drift` learned by a daemon with and
/// without forgetting, then `report convergence` against the optimum after the change.
@Suite(.postgresServer, .serialized)
struct RewardLoopProcessTests {
    /// The shipped configuration, with `half_life_s` on egreedy_v2 when given.
    static func configuration(halfLife: Int?, in directory: TemporaryDirectory) throws -> String {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/banditd.json")
        var text = try String(contentsOf: shipped, encoding: .utf8)
        if let halfLife {
            text = text.replacingOccurrences(
                of:
                    #""name": "egreedy_v2", "algorithm": "egreedy", "dimension": 12, "lambda": 1.0, "epsilon": 0.1, "version": "1.0.0","#,
                with:
                    #""name": "egreedy_v2", "algorithm": "egreedy", "dimension": 12, "lambda": 1.0, "epsilon": 0.1, "version": "1.0.0", "half_life_s": \#(halfLife),"#
            )
            precondition(text.contains("half_life_s"), "the shipped egreedy_v2 line changed")
        }
        let path = directory.appending(halfLife == nil ? "plain.json" : "forgetting.json")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Seed 3, 8,000 outcomes (the drift after 4,000), half-life 1,200 s: the in-memory study
    /// (BanditSimulationTests.DriftTests) gives 0.841 with forgetting and 0.635 without.
    @Test func withHalfLifeTheDaemonFollowsADriftingWorldAndWithoutItLagsBehind() async throws {
        let measured = Mutex<[String: Double]>([:])
        for halfLife in [1200, nil] as [Int?] {
            try await OperationsStack.with { stack in
                let config = try Self.configuration(halfLife: halfLife, in: stack.directory)
                let daemon = try stack.startDaemon(arguments: ["--config", config], log: "daemon.log")
                defer { daemon.stop(timeout: .seconds(30)) }
                let database = try stack.connectDatabase()
                defer { database.close() }
                let key = stack.directory.appending("planted.json")
                let outcomes = 8000
                let simulate = try stack.run(
                    [
                        "simulate", "--config", config, "--drift", "--seed", "3", "--events", "\(outcomes)", "--out",
                        key,
                    ],
                    log: "simulate.log")
                #expect(simulate.status == 0, "\(simulate.output)")
                try stack.waitForProcessed(3 * outcomes, database)
                // Every decision took its reward (on time, or late after a default closing).
                try waitUntil(timeout: .seconds(60)) {
                    try database.query("SELECT count(*) FROM decisions WHERE reward_origin IN ('event', 'late')")
                        .rows[0].int(0) == outcomes
                }
                let report = try stack.run(
                    ["report", "convergence", "--config", config, "--planted", key, "--min-match", "0"],
                    log: "report.log")
                #expect(report.status == 0, "\(report.output)")
                let figures = try #require(try OperationsStack.json(report.output) as? [String: Any])
                let rate = try #require(figures["match_rate"] as? Double)
                measured.withLock { $0[halfLife.map { "half_life_s \($0)" } ?? "no forgetting"] = rate }
            }
        }
        let rates = measured.withLock { $0 }
        print("simulate --drift --seed 3 --events 8000, report convergence after the change: \(rates)")
        #expect((rates["half_life_s 1200"] ?? 0) >= 0.8)
        #expect((rates["no forgetting"] ?? 1) <= 0.7)
    }
}
