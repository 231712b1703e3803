import ArgumentParser
import BanditConfig
import BanditTopology
import NATSKit

struct StreamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "Manage the JetStream streams and consumers banditd uses.",
        subcommands: [Ensure.self]
    )

    struct Ensure: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Create SIGNALS, FEEDBACK, DEADLETTER and the two durable pull consumers if missing; verify existing ones."
        )

        @OptionGroup var options: ConfigurationOptions

        func run() throws {
            let configuration = try options.load()
            let connection: NATSConnection
            do {
                connection = try NATSConnection(options: NATSOptionsFactory.make(configuration.nats))
            } catch {
                CommandOutput.fail("\(error)")
            }
            defer { connection.close() }
            do {
                let report = try StreamTopology(configuration.nats).ensure(on: connection)
                for (name, action) in report.streams { CommandOutput.print("stream \(name): \(describe(action))") }
                for (name, action) in report.consumers { CommandOutput.print("consumer \(name): \(describe(action))") }
            } catch {
                CommandOutput.fail("\(error)")
            }
        }

        private func describe(_ action: EnsureReport.Action) -> String {
            switch action {
            case .created: "created"
            case .verified: "ok"
            case .verifiedWithNotes(let notes): "ok (\(notes.joined(separator: "; ")); left unchanged)"
            case .updated(let changes): "updated (\(changes.joined(separator: "; ")))"
            }
        }
    }
}

extension StreamTopology {
    init(_ nats: BanditdConfiguration.NATS) {
        self.init(
            durablePrefix: nats.durablePrefix, maxDeliver: nats.maxDeliver, ackWait: nats.ackWait,
            maxAckPending: nats.maxAckPending, replicas: nats.streamReplicas, maxAge: nats.streamMaxAge)
    }
}
