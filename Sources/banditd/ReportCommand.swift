import ArgumentParser
import BanditConfig
import BanditCore
import BanditMath
import BanditOperations
import BanditSimulation
import BanditStore
import Foundation
import PostgresKit

/// `banditd report convergence` and `banditd report cells`. Read-only.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Learning reports: learned argmax vs a planted optimum; cell coverage.",
        subcommands: [Convergence.self, Cells.self]
    )

    struct Convergence: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the learned greedy policy of the synthetic state with the planted optimum.",
            discussion: """
                For every covered cell of the answer key (a cell with at least one rewarded synthetic decision),
                the learned argmax — θ from the state of all the key's agents summed per model — against the
                planted optimal model; regret of the learned greedy policy; IPS / SNIPS of it from the logged
                propensities next to the logging policy's mean reward. Prints one JSON object; exits 0 when
                match_rate ≥ --min-match, 2 when below, 1 on an error.
                """
        )

        @OptionGroup var options: ConfigurationOptions

        @Option(name: .long, help: "The answer key written by `banditd simulate --out`.")
        var planted: String

        @Option(name: .long, help: "Required match rate (0…1).")
        var minMatch: Double = 0.7

        @Option(name: .long, help: "Source of the learned state (synthetic unless testing).")
        var source: String = "synthetic"

        func validate() throws {
            guard minMatch >= 0 && minMatch <= 1 else { throw ValidationError("--min-match must lie in [0, 1]") }
        }

        func run() throws {
            let configuration = try options.load()
            let key: AnswerKey
            do {
                key = try JSONDecoder().decode(AnswerKey.self, from: Data(contentsOf: URL(fileURLWithPath: planted)))
            } catch {
                CommandOutput.fail("cannot read the answer key \(planted): \(error)")
            }
            guard let policy = configuration.policies[key.policy] else {
                CommandOutput.fail("the answer key's policy \(key.policy) is not configured")
            }
            guard key.cells.allSatisfy({ $0.features.count == policy.dimension }) else {
                CommandOutput.fail(
                    "the answer key's features do not have policy \(key.policy)'s dimension \(policy.dimension)")
            }
            let states: [StoredArmState]
            let decisions: [StoredRewardedDecision]
            do {
                let connection = try PostgresConnection(conninfo: configuration.postgres.url)
                defer { connection.close() }
                let reads = LearningReads(connection: connection)
                states = try reads.armStates(users: key.agents, policy: key.policy, source: source)
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
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            do {
                CommandOutput.print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } catch {
                CommandOutput.fail("\(error)")
            }
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
                """
        )

        @OptionGroup var options: ConfigurationOptions

        @Option(name: .long, help: "Only this user.")
        var user: String?

        @Option(name: .long, help: "Only this source (prod | synthetic | shadow).")
        var source: String?

        func run() throws {
            let configuration = try options.load()
            if let source, EventSource(rawValue: source) == nil {
                CommandOutput.fail("unknown source \"\(source)\" (expected prod, synthetic or shadow)")
            }
            let rows: [CellCoverage]
            let total: CellCoverage
            do {
                let connection = try PostgresConnection(conninfo: configuration.postgres.url)
                defer { connection.close() }
                let reads = LearningReads(connection: connection)
                rows = try reads.cellCoverage(user: user, source: source)
                total = try reads.cellCoverageTotal(user: user, source: source)
            } catch {
                CommandOutput.fail("\(error)")
            }
            func object(_ coverage: CellCoverage) -> String {
                "{\"user_id\":\(coverage.userID.map(JSONText.string) ?? "null"),"
                    + "\"source\":\(coverage.source.map(JSONText.string) ?? "null"),"
                    + "\"cells\":\(coverage.cells),\"tier1_cells\":\(coverage.tier1Cells),"
                    + "\"tier2_cells\":\(coverage.tier2Cells)}"
            }
            CommandOutput.print(
                "{\"total\":\(object(total)),\"rows\":[\(rows.map(object).joined(separator: ","))]}")
        }
    }
}
