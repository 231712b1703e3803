import ArgumentParser
import BanditCore
import BanditStore
import Foundation
import PostgresKit

/// `banditd stats` (CONTRACT section 9): one user's state and decisions. Read-only.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "A user's bandit state per policy and arm, and their decisions by how they were rewarded.",
        discussion: """
            arms: one per bandit_state row (policy, source, arm_id, n, reward_sum, mean_reward = reward_sum / n, \
            updated_at). policies: per policy and source, the decisions logged, rewarded by event (reward_origin \
            'event'), closed by default ('default'), late-corrected ('late') and still open (no reward yet), and \
            the state rows. Without --source every source is shown, each row naming its own. Exit 1 for a user \
            with neither state nor decisions under the filter.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "User id.")
    var user: String

    @Option(help: "Only this policy.")
    var policy: String?

    @Option(help: "Only this source (prod | synthetic | shadow); all when omitted.")
    var source: String?

    @Option(help: "json | table.")
    var format: OutputFormat = .json

    func validate() throws {
        if let source, EventSource(rawValue: source) == nil {
            throw ValidationError("--source must be prod, synthetic or shadow")
        }
    }

    func run() throws {
        let configuration = try options.load()
        let arms: [ArmSummary]
        let counts: [DecisionCounts]
        do {
            let connection = try PostgresConnection(conninfo: configuration.postgres.url)
            defer { connection.close() }
            let reads = LearningReads(connection: connection)
            arms = try reads.armSummaries(user: user, policy: policy, source: source)
            counts = try reads.decisionCounts(user: user, policy: policy, source: source)
        } catch {
            CommandOutput.fail("\(error)")
        }
        guard !arms.isEmpty || !counts.isEmpty else {
            let filter = [policy.map { "policy \($0)" }, source.map { "source \($0)" }].compactMap { $0 }
            CommandOutput.fail(
                "unknown user \"\(user)\": no bandit state or decisions"
                    + (filter.isEmpty ? "" : " under \(filter.joined(separator: ", "))"))
        }
        CommandOutput.print(
            StatsOutput.value(user: user, policy: policy, source: source, arms: arms, counts: counts)
                .rendered(format))
    }
}

enum StatsOutput {
    static func value(
        user: String, policy: String?, source: String?, arms: [ArmSummary], counts: [DecisionCounts]
    ) -> ReportValue {
        // Every (policy, source) with state or decisions, in the order of the queries (byte order).
        var keys: [(policy: String, source: String)] = []
        func note(_ policy: String, _ source: String) {
            if !keys.contains(where: { $0.policy.utf8.elementsEqual(policy.utf8) && $0.source == source }) {
                keys.append((policy, source))
            }
        }
        for arm in arms { note(arm.policy, arm.source) }
        for count in counts { note(count.policy, count.source) }
        keys.sort { lhs, rhs in
            lhs.policy.utf8.elementsEqual(rhs.policy.utf8)
                ? lhs.source < rhs.source : lhs.policy.utf8.lexicographicallyPrecedes(rhs.policy.utf8)
        }
        let policies = keys.map { key -> ReportValue in
            let count = counts.first { $0.policy.utf8.elementsEqual(key.policy.utf8) && $0.source == key.source }
            let state = arms.filter { $0.policy.utf8.elementsEqual(key.policy.utf8) && $0.source == key.source }
            return .object([
                ("policy", .string(key.policy)), ("source", .string(key.source)),
                ("decisions", .integer(count?.logged ?? 0)),
                ("rewarded_by_event", .integer(count?.rewardedByEvent ?? 0)),
                ("closed_by_default", .integer(count?.closedByDefault ?? 0)),
                ("late_corrected", .integer(count?.lateCorrected ?? 0)),
                ("open", .integer(count?.open ?? 0)),
                ("state_arms", .integer(state.count)),
                ("state_n", .integer(state.reduce(Int64(0)) { $0 + $1.n })),
            ])
        }
        return .object([
            ("user_id", .string(user)), ("policy", .string(policy)), ("source", .string(source)),
            ("arms", .array(arms.map(armValue))),
            ("policies", .array(policies)),
        ])
    }

    static func armValue(_ arm: ArmSummary) -> ReportValue {
        .object([
            ("policy", .string(arm.policy)), ("source", .string(arm.source)), ("arm_id", .string(arm.armID)),
            ("n", .integer(arm.n)), ("reward_sum", .number(arm.rewardSum)), ("mean_reward", .number(arm.meanReward)),
            ("updated_at", .string(PostgresText.timestamp(arm.updatedAt))),
        ])
    }
}
