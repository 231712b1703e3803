import ArgumentParser
import BanditConfig
import BanditCore
import BanditMath
import BanditOperations
import BanditSimulation
import BanditStore
import Foundation
import PostgresKit

/// `banditd report ope`, `report convergence` and `report cells`. They read; `ope` and
/// `convergence` also record their run in `evaluation_runs` (unless `--no-record`).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Learning reports: off-policy evaluation; learned argmax vs a planted optimum; cell coverage.",
        subcommands: [Ope.self, Convergence.self, Cells.self]
    )

    struct Convergence: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the learned greedy policy of the synthetic state with the planted optimum.",
            discussion: """
                For every covered cell of the answer key (a cell with at least one rewarded synthetic decision),
                the learned argmax — θ from the state of all the key's agents summed per model — against the
                planted optimal model; regret of the learned greedy policy; IPS / SNIPS of it from the logged
                propensities next to the logging policy's mean reward. Prints one JSON object (or tables with
                --format table) and records the run in evaluation_runs (kind convergence) unless --no-record;
                exits 0 when match_rate ≥ --min-match, 2 when below, 1 on an error.
                """
        )

        @OptionGroup var options: ConfigurationOptions

        @Option(name: .long, help: "The answer key written by `banditd simulate --out`.")
        var planted: String

        @Option(name: .long, help: "Required match rate (0…1).")
        var minMatch: Double = 0.7

        @Option(name: .long, help: "Source of the learned state (synthetic unless testing).")
        var source: String = "synthetic"

        @Flag(help: "Do not record the run in evaluation_runs.")
        var noRecord = false

        @Option(help: "json | table.")
        var format: OutputFormat = .json

        @Option(
            name: .long,
            help: """
                Read the state as of this time (RFC 3339): forgetting weighs updates by their age then. Default: the \
                answer key's read_at (its last event), else now.
                """)
        var at: String?

        func validate() throws {
            if let at, TimestampArgument.parse(at) == nil {
                throw ValidationError("--at must be an RFC 3339 time with an offset, got \"\(at)\"")
            }
            guard minMatch >= 0 && minMatch <= 1 else { throw ValidationError("--min-match must lie in [0, 1]") }
            guard EventSource(rawValue: source) != nil else {
                throw ValidationError("--source must be prod, synthetic or shadow")
            }
        }

        func run() throws {
            let configuration = try options.load()
            let key = AnswerKeyFile.load(planted)
            guard let policy = configuration.policies[key.policy] else {
                CommandOutput.fail("the answer key's policy \(key.policy) is not configured")
            }
            guard key.cells.allSatisfy({ $0.features.count == policy.dimension }) else {
                CommandOutput.fail(
                    "the answer key's features do not have policy \(key.policy)'s dimension \(policy.dimension)")
            }
            let states: [StoredArmState]
            let decisions: [StoredRewardedDecision]
            let connection: PostgresConnection
            do {
                connection = try PostgresConnection(conninfo: configuration.postgres.url)
            } catch {
                CommandOutput.fail("\(error)")
            }
            defer { connection.close() }
            do {
                let reads = LearningReads(connection: connection)
                states = try reads.armStates(
                    users: key.agents, policy: key.policy, source: source,
                    at: at.flatMap(TimestampArgument.parse) ?? key.readAt.flatMap(TimestampArgument.parse) ?? Date())
                decisions = try reads.rewardedDecisions(users: key.agents, policy: key.policy, source: source)
            } catch {
                CommandOutput.fail("\(error)")
            }
            // Raw sums add: the pooled state of a model is the sum over the world's agents.
            var pooled: [String: ArmStatistics] = [:]
            for row in states {
                guard row.dimension == policy.dimension,
                    let statistics = try? ArmStatistics(
                        dimension: row.dimension, a: row.a, b: row.b, n: row.n, rewardSum: row.rewardSum)
                else {
                    CommandOutput.warn("state of \(row.userID)/\(row.armID) is malformed; left out")
                    continue
                }
                pooled[row.armID, default: .zero(dimension: policy.dimension)] += statistics
            }
            let logged = decisions.map {
                LoggedDecision(features: $0.features, armID: $0.armID, propensity: $0.propensity, reward: $0.reward)
            }
            let report = ConvergenceReport(
                key: key, pooled: pooled, lambda: policy.lambda, logged: logged, minMatch: minMatch)
            let runID = noRecord ? nil : UUID()
            let output = ConvergenceOutput.value(report, runID: runID)
            if let runID {
                EvaluationRecording.record(
                    EvaluationRun(
                        runID: runID, kind: .convergence, policy: key.policy, candidate: "learned", source: source,
                        windowStart: nil, windowEnd: nil, n: report.loggedDecisions,
                        estimates: ConvergenceOutput.estimates(report).json, passed: report.passed,
                        report: output.json),
                    on: connection)
            }
            CommandOutput.print(output.rendered(format))
            if !report.passed {
                Foundation.exit(2)
            }
        }
    }

    struct Cells: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cell coverage from routing_outcomes (the cell_coverage view of CONTRACT section 4).",
            discussion: """
                Prints {"total":{…},"rows":[…]}: rows are the view's (user_id, source, cells, tier1_cells,
                tier2_cells) for the filter; total counts distinct cells over all the filter's rows together.
                With --top N also "top": the N cells with the most routing outcomes under the filter
                ({"cell","count","tier"}, most first, ties by cell).
                """
        )

        @OptionGroup var options: ConfigurationOptions

        @Option(name: .long, help: "Only this user.")
        var user: String?

        @Option(name: .long, help: "Only this source (prod | synthetic | shadow).")
        var source: String?

        @Option(name: .long, help: "Also list the N most frequent cells.")
        var top: Int?

        @Option(help: "json | table.")
        var format: OutputFormat = .json

        func validate() throws {
            if let top, top < 1 || top > 100_000 { throw ValidationError("--top must be 1…100000") }
        }

        func run() throws {
            let configuration = try options.load()
            if let source, EventSource(rawValue: source) == nil {
                CommandOutput.fail("unknown source \"\(source)\" (expected prod, synthetic or shadow)")
            }
            let rows: [CellCoverage]
            let total: CellCoverage
            var top: [CellCount]?
            do {
                let connection = try PostgresConnection(conninfo: configuration.postgres.url)
                defer { connection.close() }
                let reads = LearningReads(connection: connection)
                rows = try reads.cellCoverage(user: user, source: source)
                total = try reads.cellCoverageTotal(user: user, source: source)
                if let limit = self.top { top = try reads.topCells(user: user, source: source, limit: limit) }
            } catch {
                CommandOutput.fail("\(error)")
            }
            func object(_ coverage: CellCoverage) -> ReportValue {
                .object([
                    ("user_id", .string(coverage.userID)), ("source", .string(coverage.source)),
                    ("cells", .integer(coverage.cells)), ("tier1_cells", .integer(coverage.tier1Cells)),
                    ("tier2_cells", .integer(coverage.tier2Cells)),
                ])
            }
            var members: [(String, ReportValue)] = [("total", object(total)), ("rows", .array(rows.map(object)))]
            if let top {
                members.append(
                    (
                        "top",
                        .array(
                            top.map {
                                .object([
                                    ("cell", .string($0.cell)), ("count", .integer($0.count)),
                                    ("tier", .integer($0.tier)),
                                ])
                            })
                    ))
            }
            CommandOutput.print(ReportValue.object(members).rendered(format))
        }
    }
}

/// `report convergence`'s output: every member of ``ConvergenceReport``.
enum ConvergenceOutput {
    static func value(_ report: ConvergenceReport, runID: UUID?) -> ReportValue {
        .object([
            ("covered_cells", .integer(report.coveredCells)),
            ("matched_cells", .integer(report.matchedCells)),
            ("match_rate", .number(report.matchRate)),
            ("min_match", .number(report.minMatch)),
            ("passed", .bool(report.passed)),
            ("logged_decisions", .integer(report.loggedDecisions)),
            ("unmatched_decisions", .integer(report.unmatchedDecisions)),
            ("regret_per_cell", .number(report.regretPerCell)),
            ("regret_traffic_weighted", .number(report.regretTrafficWeighted)),
            ("optimal_value", .number(report.optimalValue)),
            ("learned_value", .number(report.learnedValue)),
            ("logging_value", .number(report.loggingValue)),
            ("logging_observed_mean", .number(report.loggingObservedMean)),
            ("learned_off_policy", offPolicy(report)),
            ("run_id", .string(runID.map { PostgresText.uuid($0) })),
            (
                "cells",
                .array(
                    report.cells.map {
                        .object([
                            ("cell", .string($0.cell)), ("planted", .string($0.planted)),
                            ("learned", .string($0.learned)), ("matched", .bool($0.matched)),
                            ("regret", .number($0.regret)), ("decisions", .integer($0.decisions)),
                        ])
                    })
            ),
        ])
    }

    /// What `evaluation_runs.estimates` keeps of a convergence run.
    static func estimates(_ report: ConvergenceReport) -> ReportValue {
        .object([
            ("match_rate", .number(report.matchRate)),
            ("covered_cells", .integer(report.coveredCells)),
            ("matched_cells", .integer(report.matchedCells)),
            ("regret_traffic_weighted", .number(report.regretTrafficWeighted)),
            ("learned_off_policy", offPolicy(report)),
        ])
    }

    private static func offPolicy(_ report: ConvergenceReport) -> ReportValue {
        guard let estimate = report.learnedOffPolicy else { return .null }
        return .object([
            ("ips", .number(estimate.ips)), ("snips", .number(estimate.snips)),
            ("effective_sample_size", .number(estimate.effectiveSampleSize)), ("n", .integer(estimate.n)),
        ])
    }
}
