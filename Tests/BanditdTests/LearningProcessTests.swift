import BanditCore
import BanditSimulation
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// `simulate`, `report` and `score` of the real `banditd` binary, with a real daemon between
/// them: the synthetic world goes through JetStream and the worker like any traffic.
@Suite(.postgresServer, .serialized)
struct LearningProcessTests {
    private func withStack(_ body: @escaping @Sendable (OperationsStack) throws -> Void) async throws {
        try await OperationsStack.with(extraEnvironment: ["LOG_LEVEL": "warning"]) { stack in
            let directory = stack.directory
            let daemon = try ChildProcess(
                DaemonProcessTests.binary, arguments: ["run"], environment: stack.environment,
                logFile: directory.appending("banditd.log"))
            defer { daemon.stop(timeout: .seconds(30)) }
            // Ready once the daemon has created the streams and migrated.
            let connection = try NATSConnection(options: NATSConnectionOptions(servers: [stack.nats.url]))
            defer { connection.close() }
            try waitUntil(timeout: .seconds(60), poll: .milliseconds(200)) {
                (try? connection.consumerInfo(stream: "FEEDBACK", consumer: "feature-pipeline-feedback")) != nil
                    && (try? connection.consumerInfo(stream: "SIGNALS", consumer: "feature-pipeline-signals")) != nil
            }
            try body(stack)
            #expect(try connection.streamInfo("DEADLETTER").state.messages == 0, "\(daemon.log())")
        }
    }

    private func waitForProcessed(_ count: Int, _ database: PostgresConnection) throws {
        try waitUntil(timeout: .seconds(120), poll: .milliseconds(200)) {
            try database.query(
                "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
            ).rows[0].int(0) == count
        }
    }

    /// Every prod row as text, in key order: `updated_at` and every float bit included.
    private func prodSnapshot(_ database: PostgresConnection) throws -> [String] {
        var lines: [String] = []
        for query: SQL in [
            "SELECT t::text FROM bandit_state t WHERE source = 'prod' ORDER BY user_id, policy, arm_id",
            "SELECT t::text FROM decisions t WHERE source = 'prod' ORDER BY decision_id",
            "SELECT t::text FROM routing_outcomes t WHERE source = 'prod' ORDER BY event_id",
            "SELECT t::text FROM cell_coverage t WHERE source = 'prod' ORDER BY user_id",
        ] {
            lines += try database.query(query).rows.map { try $0.string(0) }
        }
        return lines
    }

    @Test func aSimulationLeavesEveryProdRowByteIdentical() async throws {
        try await withStack { stack in
            let database = try PostgresConnection(conninfo: stack.databaseURL)
            defer { database.close() }
            // Prod traffic on the very keys the synthetic world uses: its agents, policy and models.
            let world = SyntheticWorld(seed: 11)
            var prod: [Event] = []
            var rewards: [Event] = []
            for index in 0..<120 {
                let user = world.agents[index % 6]
                let model = world.models[index % 8]
                let features = world.contexts[index % world.contexts.count].features
                let id = UUID()
                prod.append(
                    .decision(
                        try Decision(
                            eventID: UUID(), occurredAt: Date(), userID: user, decisionID: id,
                            policy: SyntheticWorld.policy, policyVersion: SyntheticWorld.policyVersion, armID: model,
                            propensity: 0.25, features: features)))
                rewards.append(
                    .reward(
                        try Reward(
                            eventID: UUID(), occurredAt: Date(), userID: user, reward: Double(index % 5) / 4,
                            target: .decision(id: id))))
                rewards.append(
                    .routing(
                        try RoutingOutcome(
                            eventID: UUID(), occurredAt: Date(), userID: user, inferenceID: UUID(),
                            taskType: TaskType.allCases[index % 7], taskTypeSource: .caller,
                            policyVersion: "routing_v1@1.0.0+a3f9c2e1", model: model, provider: "p",
                            constraintBand: .standard, reward: 0.5, latencyMs: 10, costUSD: 0.001, completed: true,
                            banditUpdate: .init(policy: "routing_v1", features: [1, 0, 0, 0, 0, 0, 0, Double(index)]))))
            }
            let nats = try NATSConnection(options: NATSConnectionOptions(servers: [stack.nats.url]))
            defer { nats.close() }
            let encoder = JSONEncoder()
            for batch in [prod, rewards] {
                _ = try nats.publishPipelined(
                    try batch.map {
                        NATSConnection.OutgoingMessage(
                            subject: $0.subject.rawValue, body: Array(try encoder.encode($0)))
                    })
            }
            try waitForProcessed(360, database)
            let before = try prodSnapshot(database)
            #expect(before.count == 48 + 120 + 120 + 6)  // state (24 keys × 2 policies), decisions, routing, coverage

            let key = stack.directory.appending("planted.json")
            let simulate = try stack.run(
                ["simulate", "--seed", "11", "--events", "600", "--out", key], log: "simulate.log")
            #expect(simulate.status == 0, "\(simulate.output)")
            try waitForProcessed(360 + 3 * 600, database)
            #expect(try prodSnapshot(database) == before)
            // The synthetic world did land, on the same users, policy and models, in its own rows.
            let synthetic = try database.query(
                "SELECT count(*), sum(n) FROM bandit_state WHERE source = 'synthetic' AND policy = 'egreedy_v2'")
            #expect(try synthetic.rows[0].int(0) > 0)
            #expect(try synthetic.rows[0].int(1) == 600)
            #expect(
                try database.query("SELECT count(*) FROM routing_outcomes WHERE source = 'synthetic'").rows[0].int(0)
                    == 600)

            // score on prod state: LinUCB (routing_v1), an arm without state at the prior.
            let score = try stack.run(
                [
                    "score", "--user", world.agents[0], "--policy", "routing_v1", "--features", "1,0,0,0,0,0,0,0",
                    "--arms", "ghost",
                ], log: "score.log")
            #expect(score.status == 0, "\(score.output)")
            let ranked = try #require(try OperationsStack.json(score.output) as? [[String: Any]])
            let ghost = try #require(ranked.first { $0["arm_id"] as? String == "ghost" })
            #expect(ghost["n"] as? Int == 0)
            #expect(ghost["mean"] as? Double == 0)
            #expect(ghost["score"] as? Double == 1)  // α·sqrt(xᵀx/λ) = 1
            let learned = ranked.filter { $0["arm_id"] as? String != "ghost" }
            #expect(learned.count == 4)  // agent 0 saw models a, c, e, g
            for arm in learned {
                #expect((arm["n"] as? Int ?? 0) > 0)
                #expect((arm["score"] as? Double ?? 0) > (arm["mean"] as? Double ?? 0))
            }
            let scores = ranked.map { $0["score"] as? Double ?? .nan }
            #expect(scores == scores.sorted(by: >))
        }
    }

    @Test func aSmallSeededWorldConvergesThroughTheDaemonAndScoresAndReportsIt() async throws {
        try await withStack { stack in
            let database = try PostgresConnection(conninfo: stack.databaseURL)
            defer { database.close() }
            let key = stack.directory.appending("planted.json")
            let outcomes = 1_500
            let simulate = try stack.run(
                ["simulate", "--seed", "5", "--events", "\(outcomes)", "--out", key], log: "simulate.log")
            #expect(simulate.status == 0, "\(simulate.output)")
            let summary = try #require(try OperationsStack.json(simulate.output) as? [String: Any])
            #expect(summary["published"] as? Int == 3 * outcomes)
            try waitForProcessed(3 * outcomes, database)

            let report = try stack.run(["report", "convergence", "--planted", key], log: "report.log")
            #expect(report.status == 0, "\(report.output)")
            print("report convergence (seed 5, \(outcomes) outcomes): \(report.output)")
            let figures = try #require(try OperationsStack.json(report.output) as? [String: Any])
            let matchRate = try #require(figures["match_rate"] as? Double)
            #expect(matchRate >= 0.7)
            #expect(figures["covered_cells"] as? Int == 63)
            #expect(figures["logged_decisions"] as? Int == outcomes)
            let offPolicy = try #require(figures["learned_off_policy"] as? [String: Any])
            #expect(offPolicy["ips"] is Double && offPolicy["snips"] is Double)
            // The threshold decides the exit status.
            let strict = try stack.run(
                ["report", "convergence", "--planted", key, "--min-match", "1"], log: "strict.log")
            #expect(strict.status == (matchRate == 1 ? 0 : 2), "\(strict.output)")

            // Cell coverage: every synthetic routing outcome's cell, tier 1 and 2 apart.
            let cells = try stack.run(["report", "cells", "--source", "synthetic"], log: "cells.log")
            #expect(cells.status == 0, "\(cells.output)")
            let coverage = try #require(try OperationsStack.json(cells.output) as? [String: Any])
            let total = try #require(coverage["total"] as? [String: Any])
            let expected = try database.query(
                "SELECT count(DISTINCT cell) FROM routing_outcomes WHERE source = 'synthetic'"
            ).rows[0].int(0)
            #expect(total["cells"] as? Int == expected)
            #expect(
                (total["tier1_cells"] as? Int ?? 0) + (total["tier2_cells"] as? Int ?? 0) == expected)
            #expect((coverage["rows"] as? [Any])?.count == 24)
            let agent = try database.query(
                """
                SELECT user_id, cells, tier1_cells, tier2_cells FROM cell_coverage
                WHERE source = 'synthetic' ORDER BY user_id LIMIT 1
                """
            ).rows[0]
            let one = try stack.run(
                ["report", "cells", "--user", try agent.string(0), "--source", "synthetic"], log: "cells-user.log")
            let oneCoverage = try #require(try OperationsStack.json(one.output) as? [String: Any])
            let rows = try #require(oneCoverage["rows"] as? [[String: Any]])
            #expect(rows.count == 1)
            #expect(rows.first?["cells"] as? Int == (try agent.int(1)))
            #expect(rows.first?["tier1_cells"] as? Int == (try agent.int(2)))
            #expect(rows.first?["tier2_cells"] as? Int == (try agent.int(3)))
            #expect((oneCoverage["total"] as? [String: Any])?["cells"] as? Int == (try agent.int(1)))
            // A missing answer key is an error (1), not a failed threshold (2).
            let missing = try stack.run(
                ["report", "convergence", "--planted", stack.directory.appending("nope.json")], log: "missing.log")
            #expect(missing.status == 1 && missing.output.contains("cannot read the answer key"))

            // score from the synthetic state; the learned best arm of a cell leads.
            let planted = try JSONDecoder().decode(AnswerKey.self, from: Data(contentsOf: URL(fileURLWithPath: key)))
            let cell = planted.cells[0]
            let features = cell.features.map { "\($0)" }.joined(separator: ",")
            let score = try stack.run(
                [
                    "score", "--user", planted.agents[0], "--policy", "egreedy_v2", "--source", "synthetic",
                    "--features", features, "--arms", planted.models.joined(separator: ",") + ",model-z",
                ], log: "score.log")
            #expect(score.status == 0, "\(score.output)")
            let ranked = try #require(try OperationsStack.json(score.output) as? [[String: Any]])
            #expect(ranked.count == 9)
            let prior = try #require(ranked.first { $0["arm_id"] as? String == "model-z" })
            #expect(prior["n"] as? Int == 0 && prior["score"] as? Double == 0)
            for arm in ranked { #expect(arm["score"] as? Double == arm["mean"] as? Double) }  // ε-greedy: the mean

            // Errors: a clear message and a non-zero exit.
            let errors: [([String], String)] = [
                (["--user", "nobody", "--policy", "egreedy_v2", "--features", features], "unknown user"),
                (["--user", planted.agents[0], "--policy", "nope", "--features", features], "unknown policy"),
                (["--user", planted.agents[0], "--policy", "egreedy_v2", "--features", "1,0"], "dimension 12"),
                (
                    ["--user", planted.agents[0], "--policy", "egreedy_v2", "--features", "1,x,0,0,0,0,0,0,0,0,0,0"],
                    "not a finite number"
                ),
            ]
            for (index, (arguments, message)) in errors.enumerated() {
                let failed = try stack.run(
                    ["score", "--source", "synthetic"] + arguments, log: "score-error-\(index).log")
                #expect(failed.status == 1, "\(failed.output)")
                #expect(failed.output.contains(message), "\(failed.output)")
            }
        }
    }
}
