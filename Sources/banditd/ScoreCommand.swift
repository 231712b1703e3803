import ArgumentParser
import BanditConfig
import BanditCore
import BanditMath
import BanditOperations
import BanditStore
import Foundation
import PostgresKit

/// `banditd score`: ranks arms for one user, policy and source from stored state
/// (CONTRACT section 6). Read-only.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Rank arms for a user and context from stored bandit state (JSON array, best first).",
        discussion: """
            Prints [{"arm_id","score","mean","n"}, …] over the arms with state for the user, policy and source,
            plus the arms of --arms without state, scored at the prior (θ = 0, full uncertainty). mean = θᵀx with
            θ = (λI + a)⁻¹b; score is the LinUCB upper bound θᵀx + α·sqrt(xᵀ(λI + a)⁻¹x) or, for ε-greedy, the mean.
            Errors (exit 1): unknown policy or user, a feature that is not a finite number, the wrong number of
            features, an unknown source.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(name: .long, help: "User id.")
    var user: String

    @Option(name: .long, help: "Configured policy name (e.g. egreedy_v2).")
    var policy: String

    @Option(name: .long, help: "Context features, comma-separated (the policy's dimension).")
    var features: String

    @Option(name: .long, help: "prod | synthetic | shadow.")
    var source: String = "prod"

    @Option(name: .long, help: "Arms to rank even without state (comma-separated); they score at the prior.")
    var arms: String?

    @Option(help: "json | table.")
    var format: OutputFormat = .json

    @Option(
        name: .long,
        help: "Read the state as of this time (RFC 3339; default now): forgetting weighs updates by their age then.")
    var at: String?

    func run() throws {
        let configuration = try options.load()
        var readAt = Date()
        if let at {
            guard let parsed = TimestampArgument.parse(at) else {
                CommandOutput.fail("--at must be an RFC 3339 time with an offset, got \"\(at)\"")
            }
            readAt = parsed
        }
        guard let definition = configuration.policies[policy] else {
            let names = configuration.policies.policies.map(\.name).joined(separator: ", ")
            CommandOutput.fail("unknown policy \"\(policy)\" (configured: \(names))")
        }
        guard EventSource(rawValue: source) != nil else {
            CommandOutput.fail("unknown source \"\(source)\" (expected prod, synthetic or shadow)")
        }
        let x: [Double]
        do throws(FeatureList.ParseError) {
            x = try FeatureList.parse(features, dimension: definition.dimension, policy: policy)
        } catch {
            CommandOutput.fail(error.message)
        }
        let extraArms = (arms ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let stored: [StoredArmState]
        do {
            let connection = try PostgresConnection(conninfo: configuration.postgres.url)
            defer { connection.close() }
            let reads = LearningReads(connection: connection)
            stored = try reads.armStates(users: [user], policy: policy, source: source, at: readAt)
            if stored.isEmpty, try !reads.userIsKnown(user, source: source) {
                CommandOutput.fail(
                    "unknown user \"\(user)\": no bandit state, decisions or routing outcomes under source \(source)")
            }
        } catch {
            CommandOutput.fail("\(error)")
        }
        var candidates: [(armID: String, statistics: ArmStatistics)] = []
        for row in stored {
            do {
                candidates.append(
                    (
                        row.armID,
                        try ArmStatistics(
                            dimension: row.dimension, a: row.a, b: row.b, n: row.n, rewardSum: row.rewardSum)
                    ))
            } catch {
                CommandOutput.warn("arm \(row.armID): stored state unusable (\(error)); scored at the prior")
                candidates.append((row.armID, .zero(dimension: definition.dimension)))
            }
        }
        for arm in extraArms where !candidates.contains(where: { $0.armID.utf8.elementsEqual(arm.utf8) }) {
            candidates.append((arm, .zero(dimension: definition.dimension)))
        }
        let rule: ScoringRule =
            switch definition.algorithm {
            case .linucb: .linUCB(alpha: definition.alpha ?? PolicyDefinition.defaultAlpha)
            case .egreedy: .mean
            }
        let ranked: [RankedArm]
        do {
            ranked = try ArmRanking.rank(arms: candidates, features: x, lambda: definition.lambda, rule: rule)
        } catch {
            CommandOutput.fail("\(error)")
        }
        for arm in ranked {
            if let fallback = arm.fallback {
                CommandOutput.warn("arm \(arm.armID): stored state unusable (\(fallback)); scored at the prior")
            }
        }
        CommandOutput.print(ScoreOutput.value(ranked).rendered(format))
    }
}

enum ScoreOutput {
    /// `[{"arm_id":…,"score":…,"mean":…,"n":…}, …]` in ranking order.
    static func value(_ ranked: [RankedArm]) -> ReportValue {
        .array(
            ranked.map {
                .object([
                    ("arm_id", .string($0.armID)), ("score", .number($0.score)), ("mean", .number($0.mean)),
                    ("n", .integer($0.n)),
                ])
            })
    }
}

/// `--features x,…`: finite numbers, exactly the policy's dimension.
enum FeatureList {
    struct ParseError: Error {
        let message: String
    }

    static func parse(_ text: String, dimension: Int, policy: String) throws(ParseError) -> [Double] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        var values: [Double] = []
        for (index, part) in parts.enumerated() {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let value = Double(trimmed), value.isFinite else {
                throw ParseError(message: "feature \(index + 1) is not a finite number: \"\(trimmed)\"")
            }
            values.append(value)
        }
        guard values.count == dimension else {
            throw ParseError(message: "policy \(policy) has dimension \(dimension), got \(values.count) features")
        }
        return values
    }
}

extension CommandOutput {
    /// Prints `banditd: warning: …` to stderr.
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("banditd: warning: \(message)\n".utf8))
    }
}
