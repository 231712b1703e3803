import ArgumentParser

@main
struct Banditd: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "banditd",
        abstract:
            "Turns user signals and feedback from NATS JetStream into per-user contextual-bandit state in PostgreSQL.",
        version: version,
        subcommands: [
            RunCommand.self, MigrateCommand.self, StreamsCommand.self, HealthCommand.self, DlqCommand.self,
            ScoreCommand.self, SimulateCommand.self, ReportCommand.self, StatsCommand.self, StateCommand.self,
            SchemaCommand.self,
        ]
    )
}
