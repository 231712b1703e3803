import BanditCore
import BanditMath
import BanditSimulation
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// `banditd report ope` (CONTRACT section 9) of the real binary, with a real daemon in front:
/// planted worlds through JetStream, the synthetic wall, the gate, the run record.
@Suite(.postgresServer, .serialized)
struct EvaluationProcessTests {
    /// Planted worlds in the accuracy check (`BANDITD_OPE_SEEDS=20` runs the README's whole study).
    static var seedCount: Int { Int(ProcessInfo.processInfo.environment["BANDITD_OPE_SEEDS"] ?? "") ?? 3 }

    /// Decisions of `linucb_v1` (d = 5) over arms a, b, c logged uniformly, and their rewards: in
    /// context c = 0 arm a is worth 0.8, in c = 1 arm b, every other arm 0.2 (± 0.1 noise); `invert`
    /// swaps which arm is best.
    static func loggedTraffic(
        count: Int, users: [String], source: EventSource, seed: UInt64, invert: Bool = false
    ) -> (decisions: [Event], rewards: [Event]) {
        var generator = SeededGenerator(seed: seed)
        let arms = ["a", "b", "c"]
        var decisions: [Event] = []
        var rewards: [Event] = []
        for index in 0..<count {
            let user = users[index % users.count]
            let context = generator.index(below: 2)
            let arm = arms[generator.index(below: 3)]
            let best = (context == 0) != invert ? "a" : "b"
            let reward = (arm == best ? 0.8 : 0.2) + (generator.unit() * 2 - 1) * 0.1
            let decisionID = UUID(uuid: Self.uuid(&generator))
            decisions.append(
                .decision(
                    try! Decision(
                        eventID: UUID(uuid: Self.uuid(&generator)), occurredAt: Date(), userID: user, source: source,
                        decisionID: decisionID, policy: "linucb_v1", policyVersion: "linucb_v1@1.0.0+a3f9c2e1",
                        armID: arm, propensity: 1.0 / 3, features: [1, Double(context), 0, 0, 0], candidates: arms,
                        probabilities: [1.0 / 3, 1.0 / 3, 1.0 / 3])))
            rewards.append(
                .reward(
                    try! Reward(
                        eventID: UUID(uuid: Self.uuid(&generator)), occurredAt: Date(), userID: user, source: source,
                        reward: reward, target: .decision(id: decisionID))))
        }
        return (decisions, rewards)
    }

    /// `report ope`'s JSON, decoded with JSONDecoder (exact doubles; JSONSerialization on Linux can be
    /// an ulp off).
    struct OpeOutput: Decodable {
        struct Interval: Decodable, Equatable {
            var value: Double?
            var lo: Double?
            var hi: Double?
        }
        struct Planted: Decodable {
            var trueValue: Double?
            var covered: [String: Bool?]
            enum CodingKeys: String, CodingKey {
                case covered
                case trueValue = "true_value"
            }
        }
        var policy: String
        var candidate: String
        var source: String
        var n: Int
        var skipped: [String: Int]
        var effectiveSampleSize: Double
        var loggingValue: Double?
        var estimates: [String: Interval]
        var passed: Bool
        var drLoOverLogging: Double?
        var lift: Interval
        var nTraining: Int
        var runID: String?
        var planted: Planted?

        enum CodingKeys: String, CodingKey {
            case policy, candidate, source, n, skipped, estimates, passed, lift, planted
            case effectiveSampleSize = "effective_sample_size"
            case loggingValue = "logging_value"
            case drLoOverLogging = "dr_lo_over_logging"
            case nTraining = "n_training"
            case runID = "run_id"
        }

        init(_ output: String) throws {
            let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("{") })
            self = try JSONDecoder().decode(OpeOutput.self, from: Data(line.utf8))
        }
    }

    static func uuid(_ generator: inout SeededGenerator) -> uuid_t {
        let b = generator.uuidBytes()
        return (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
    }

    @Test func onPlantedWorldsTheBinaryGivesTheStudysNumbersAndMeetsTheAccuracyTargets() async throws {
        try await OperationsStack.with { stack in
            let daemon = try stack.startDaemon(log: "daemon.log")
            defer { daemon.stop(timeout: .seconds(30)) }
            let database = try stack.connectDatabase()
            defer { database.close() }
            let seeds = (1...Self.seedCount).map(UInt64.init)
            for seed in seeds {
                _ = try stack.command(
                    ["simulate", "--seed", "\(seed)", "--out", stack.directory.appending("planted-\(seed).json")],
                    log: "simulate-\(seed).log")
            }
            try stack.waitForProcessed(3 * SyntheticLog.defaultOutcomes * seeds.count, database, timeout: .seconds(900))

            var results: [EstimatorAccuracyStudy.SeedResult] = []
            for seed in seeds {
                let ope = try stack.run(
                    [
                        "report", "ope", "--policy", "egreedy_v2", "--source", "synthetic", "--planted",
                        stack.directory.appending("planted-\(seed).json"),
                    ], log: "ope-\(seed).log")
                #expect(ope.status == 0, "\(ope.output)")
                let report = try OpeOutput(ope.output)
                // The same numbers, to the bit, as the pure study of this seed: the daemon stored the log exactly.
                let expected = EstimatorAccuracyStudy.evaluate(
                    seed: seed, outcomes: SyntheticLog.defaultOutcomes, settings: OffPolicySettings(candidate: .learned)
                )
                #expect(report.n == expected.count)
                #expect(report.loggingValue == expected.loggingValue)
                var estimated: [OffPolicyEstimator: EstimateInterval] = [:]
                for estimator in OffPolicyEstimator.allCases {
                    let interval = try #require(report.estimates[estimator.rawValue])
                    estimated[estimator] = EstimateInterval(value: interval.value, lo: interval.lo, hi: interval.hi)
                    #expect(estimated[estimator] == expected.estimates[estimator], "seed \(seed) \(estimator)")
                }
                let planted = try #require(report.planted)
                #expect(planted.trueValue == expected.truth)
                #expect(report.skipped == ["no_reward": 0, "no_candidates": 0, "malformed": 0])
                results.append(
                    EstimatorAccuracyStudy.SeedResult(
                        seed: seed, count: report.n, truth: planted.trueValue ?? .nan,
                        loggingValue: report.loggingValue,
                        estimates: estimated))
                #expect(planted.covered["dr"] == results.last?.covers(.dr))
            }
            // The README's targets, scaled to these seeds: DR's median relative error ≤ 5 %, its interval
            // covering the truth in ≥ 90 % of the worlds.
            let errors = results.map { $0.relativeError(.dr) }.sorted()
            let median =
                errors.count % 2 == 1
                ? errors[errors.count / 2] : (errors[errors.count / 2 - 1] + errors[errors.count / 2]) / 2
            let covering = results.filter { $0.covers(.dr) }.count
            print(
                "report ope through the daemon, \(seeds.count) planted worlds: DR median relative error \(median), covering \(covering)"
            )
            #expect(median <= 0.05)
            #expect(covering >= Int((0.9 * Double(seeds.count)).rounded(.up)))

            // Every run is recorded, with its estimates; --no-record adds none; convergence records too.
            let runs = try database.query(
                """
                SELECT kind, policy, candidate, source, n, passed, (estimates -> 'dr' ->> 'lo')::float8, report ->> 'run_id'
                FROM evaluation_runs ORDER BY created_at
                """
            ).rows
            #expect(runs.count == seeds.count)
            for (row, result) in zip(runs, results) {
                #expect(try row.string(0) == "ope")
                #expect(try row.string(1) == "egreedy_v2")
                #expect(try row.string(2) == "learned")
                #expect(try row.string(3) == "synthetic")
                #expect(try row.int(4) == result.count)
                #expect(try row.double(6) == result.estimates[.dr]?.lo)
                #expect(try row.optionalString(7) != nil)
            }
            let key = stack.directory.appending("planted-1.json")
            let unrecorded = try stack.run(
                ["report", "ope", "--policy", "egreedy_v2", "--source", "synthetic", "--planted", key, "--no-record"],
                log: "ope-no-record.log")
            #expect(unrecorded.status == 0)
            #expect(try OpeOutput(unrecorded.output).runID == nil)
            _ = try stack.command(["report", "convergence", "--planted", key], log: "convergence.log")
            _ = try stack.command(["report", "convergence", "--planted", key, "--no-record"], log: "convergence-2.log")
            let kinds = try database.query("SELECT kind, n, passed FROM evaluation_runs ORDER BY created_at").rows
            #expect(kinds.count == seeds.count + 1)
            #expect(try kinds.last?.string(0) == "convergence")
            #expect(try kinds.last?.int(1) == SyntheticLog.defaultOutcomes)
            #expect(try kinds.last?.bool(2) == true)

            let convergenceTable = try stack.command(
                ["report", "convergence", "--planted", key, "--no-record", "--format", "table"], log: "c-table.log")
            #expect(convergenceTable.contains("cells:"))
            #expect(
                convergenceTable.split(separator: "\n").contains {
                    $0.hasPrefix("covered_cells") && $0.hasSuffix(" 63")
                })
            #expect(convergenceTable.split(separator: "\n").contains { $0.hasPrefix("learned_off_policy.ips ") })

            // --format table: the same content for a person.
            let table = try stack.run(
                [
                    "report", "ope", "--policy", "egreedy_v2", "--source", "synthetic", "--planted", key, "--no-record",
                    "--format", "table",
                ], log: "ope-table.log")
            #expect(table.status == 0)
            let first = try #require(results.first)
            #expect(table.output.contains("estimates:"))
            for estimator in OffPolicyEstimator.allCases {
                let estimate = try #require(first.estimates[estimator])
                let cells = [estimate.value, estimate.lo, estimate.hi].map { String(format: "%.4f", $0 ?? .nan) }
                let line = table.output.split(separator: "\n").first { $0.hasPrefix(estimator.rawValue + " ") }
                #expect(line.map { l in cells.allSatisfy { l.contains($0) } } == true, "\(table.output)")
            }
            #expect(table.output.contains("n                "))
            #expect(!table.output.contains("{"))
        }
    }

    @Test func aProdEvaluationIsUnchangedBySyntheticAndShadowDecisions() async throws {
        try await OperationsStack.with { stack in
            let daemon = try stack.startDaemon(log: "daemon.log")
            defer { daemon.stop(timeout: .seconds(30)) }
            let database = try stack.connectDatabase()
            defer { database.close() }
            let nats = try stack.connectNATS()
            defer { nats.close() }
            let users = ["u1", "u2", "u3"]
            let prod = Self.loggedTraffic(count: 400, users: users, source: .prod, seed: 1)
            try stack.publish(prod.decisions, on: nats)
            try stack.publish(prod.rewards, on: nats)
            try stack.waitForProcessed(800, database)
            let arguments = ["report", "ope", "--policy", "linucb_v1", "--no-record"]
            let before = try stack.command(arguments, log: "before.log")
            let beforeTable = try stack.command(arguments + ["--format", "table"], log: "before-table.log")
            let report = try OpeOutput(before)
            #expect(report.source == "prod")
            #expect(report.n > 80)

            // Synthetic and shadow decisions of the same users and policy, rewarded the other way round.
            for (index, source) in [EventSource.synthetic, .shadow].enumerated() {
                let other = Self.loggedTraffic(
                    count: 400, users: users, source: source, seed: 10 + UInt64(index), invert: true)
                try stack.publish(other.decisions, on: nats)
                try stack.publish(other.rewards, on: nats)
            }
            try stack.waitForProcessed(2_400, database)
            #expect(try stack.command(arguments, log: "after.log") == before)
            #expect(try stack.command(arguments + ["--format", "table"], log: "after-table.log") == beforeTable)
            // They did land, and an evaluation of their own source reads them.
            let shadow = try OpeOutput(try stack.command(arguments + ["--source", "shadow"], log: "shadow.log"))
            #expect(shadow.n > 80)
            #expect(shadow.loggingValue != report.loggingValue)
        }
    }

    @Test func theGateExitsThreeUnlessTheDRLowerBoundBeatsTheLoggingPolicysObservedValue() async throws {
        try await OperationsStack.with { stack in
            let daemon = try stack.startDaemon(log: "daemon.log")
            defer { daemon.stop(timeout: .seconds(30)) }
            let database = try stack.connectDatabase()
            defer { database.close() }
            let nats = try stack.connectNATS()
            defer { nats.close() }
            let traffic = Self.loggedTraffic(count: 600, users: ["u1", "u2"], source: .prod, seed: 3)
            try stack.publish(traffic.decisions, on: nats)
            // 20 decisions stay open, and 10 more are logged (and rewarded) without candidates.
            try stack.publish(Array(traffic.rewards.dropLast(20)), on: nats)
            var bare: [Event] = []
            for index in 0..<10 {
                let id = UUID()
                bare.append(
                    .decision(
                        try! Decision(
                            eventID: UUID(), occurredAt: Date(), userID: "u1", decisionID: id, policy: "linucb_v1",
                            policyVersion: "linucb_v1@1.0.0+a3f9c2e1", armID: "a", propensity: 0.5,
                            features: [1, Double(index % 2), 0, 0, 0])))
                bare.append(
                    .reward(
                        try! Reward(
                            eventID: UUID(), occurredAt: Date(), userID: "u1", reward: 1, target: .decision(id: id)))
                )
            }
            try stack.publish(bare.filter { $0.subject == .decision }, on: nats)
            try stack.publish(bare.filter { $0.subject != .decision }, on: nats)
            try stack.waitForProcessed(1_200 - 20 + 20, database)
            let base = ["report", "ope", "--policy", "linucb_v1", "--gate"]

            // Learned ≈ 0.8 against a logging value ≈ 0.4: passes.
            let learned = try stack.run(base, log: "learned.log")
            #expect(learned.status == 0, "\(learned.output)")
            let report = try OpeOutput(learned.output)
            #expect(report.passed)
            #expect(report.skipped == ["no_reward": 20, "no_candidates": 10, "malformed": 0])
            let logging = try #require(report.loggingValue)
            let lo = try #require(report.estimates["dr"]?.lo)
            #expect(lo > logging)
            #expect(report.drLoOverLogging == lo - logging)
            let liftLo = try #require(report.lift.lo)
            #expect(liftLo > 0)
            #expect(report.lift.value == (report.estimates["dr"]?.value).map { $0 - logging })
            #expect(report.effectiveSampleSize > 0)
            #expect(report.n + report.nTraining == 580)

            // Not by a lift above both margins; by one below them.
            let margin = min(lo - logging, liftLo)
            let strict = try stack.run(base + ["--min-lift", "\(margin + 0.01)"], log: "strict.log")
            #expect(strict.status == 3, "\(strict.output)")
            #expect(try OpeOutput(strict.output).passed == false)
            #expect(try stack.run(base + ["--min-lift", "\(margin - 0.01)"], log: "lift.log").status == 0)
            // The logging policy never passes against itself (its DR is its observed mean), and neither does
            // uniform, which is what the logging policy is here: its DR lower bound does exceed the noisier
            // observed mean (the contract's margin alone would let it through), its paired lift's does not.
            let itself = try stack.run(base + ["--candidate", "logging"], log: "logging.log")
            #expect(itself.status == 3, "\(itself.output)")
            let loggingReport = try OpeOutput(itself.output)
            #expect(try #require(loggingReport.estimates["dr"]?.value) - logging < 1e-12)
            let uniform = try stack.run(base + ["--candidate", "uniform"], log: "uniform.log")
            #expect(uniform.status == 3, "\(uniform.output)")
            let uniformReport = try OpeOutput(uniform.output)
            #expect(try #require(uniformReport.drLoOverLogging) > 0)
            #expect(try #require(uniformReport.lift.lo) < 0)
            // Without --gate the verdict is printed and the exit status is 0.
            let ungated = try stack.run(
                ["report", "ope", "--policy", "linucb_v1", "--candidate", "uniform"], log: "u.log")
            #expect(ungated.status == 0)
            #expect(try OpeOutput(ungated.output).passed == false)

            let recorded = try database.query(
                "SELECT candidate, passed, n FROM evaluation_runs WHERE kind = 'ope' ORDER BY created_at"
            ).rows
            #expect(
                try recorded.map { try $0.string(0) } == [
                    "learned", "learned", "learned", "logging", "uniform", "uniform",
                ])
            #expect(try recorded.map { try $0.bool(1) } == [true, false, true, false, false, false])

            // Errors: an unknown policy (1), arguments out of range (64).
            let unknown = try stack.run(["report", "ope", "--policy", "nope"], log: "unknown.log")
            #expect(unknown.status == 1 && unknown.output.contains("unknown policy"), "\(unknown.output)")
            for arguments in [
                ["--holdout", "1"], ["--since", "yesterday"], ["--candidate", "best"], ["--bootstrap", "0"],
            ] {
                let bad = try stack.run(["report", "ope", "--policy", "linucb_v1"] + arguments, log: "bad.log")
                #expect(bad.status == 64, "\(arguments): \(bad.output)")
            }
            // A window without decisions: n = 0, no estimates, not passed.
            let empty = try stack.run(base + ["--until", "2000-01-01T00:00:00Z"], log: "empty.log")
            #expect(empty.status == 3)
            let nothing = try OpeOutput(empty.output)
            #expect(nothing.n == 0)
            #expect(nothing.estimates["dr"] == OpeOutput.Interval(value: nil, lo: nil, hi: nil))
            #expect(nothing.passed == false)
        }
    }
}
