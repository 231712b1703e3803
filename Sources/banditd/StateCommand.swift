import ArgumentParser
import BanditCore
import BanditStore
import Foundation
import PostgresKit

/// `banditd state reset` (CONTRACT section 9): the admin reset of a user's bandit state.
struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Administer stored bandit state.",
        subcommands: [Reset.self]
    )

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a user's bandit state rows (all sources only without --source and with --yes).",
            discussion: """
                --dry-run prints the rows that would be removed and changes nothing; --yes deletes them and records \
                one state_resets row per (policy, source) removed, in the same transaction. Without --policy every \
                policy, without --source every source (prod, synthetic and shadow). Decisions, routing outcomes and \
                the event ledger are kept: an old event redelivered or re-published is a duplicate and does not \
                rebuild the state; new events build it again from zero.
                """
        )

        @OptionGroup var options: ConfigurationOptions

        @Option(help: "User id.")
        var user: String

        @Option(help: "Only this policy.")
        var policy: String?

        @Option(help: "Only this source (prod | synthetic | shadow); all sources when omitted.")
        var source: String?

        @Flag(help: "Show what would be removed; change nothing.")
        var dryRun = false

        @Flag(help: "Delete.")
        var yes = false

        @Option(help: "json | table.")
        var format: OutputFormat = .json

        func validate() throws {
            guard dryRun != yes else { throw ValidationError("give exactly one of --dry-run and --yes") }
            if let source, EventSource(rawValue: source) == nil {
                throw ValidationError("--source must be prod, synthetic or shadow")
            }
        }

        func run() throws {
            let configuration = try options.load()
            let removed: [ArmSummary]
            var records: [StateResetRecord] = []
            do {
                let connection = try PostgresConnection(conninfo: configuration.postgres.url)
                defer { connection.close() }
                let resets = StateResets(connection: connection)
                if dryRun {
                    removed = try resets.preview(user: user, policy: policy, source: source)
                } else {
                    (removed, records) = try resets.reset(user: user, policy: policy, source: source)
                }
            } catch {
                let hint = error.sqlState == .undefinedTable ? " (run `banditd migrate`)" : ""
                CommandOutput.fail("\(error)\(hint)")
            }
            let value = ReportValue.object([
                ("user_id", .string(user)), ("policy", .string(policy)), ("source", .string(source)),
                ("dry_run", .bool(dryRun)), ("rows", .integer(removed.count)),
                ("removed", .array(removed.map(StatsOutput.armValue))),
                (
                    "resets",
                    .array(
                        records.map {
                            .object([
                                ("reset_id", .string(PostgresText.uuid($0.resetID))), ("policy", .string($0.policy)),
                                ("source", .string($0.source)), ("rows", .integer($0.rows)),
                                ("reset_at", .string(PostgresText.timestamp($0.resetAt))),
                            ])
                        })
                ),
            ])
            CommandOutput.print(value.rendered(format))
        }
    }
}
