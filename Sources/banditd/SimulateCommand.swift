import ArgumentParser
import BanditConfig
import BanditCore
import BanditOperations
import BanditSimulation
import BanditTopology
import Foundation
import NATSKit

/// `banditd simulate`: publishes a synthetic cold-start world through JetStream (source
/// `synthetic`), so the daemon learns it like any traffic, and writes the answer key.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Publish a synthetic world with a planted optimum (source synthetic) and write its answer key.",
        discussion: """
            24 agents in 3 segments, 8 models, 7 task types × 3 constraint bands × 3 segments = 63 cells, a hidden
            additive reward function with a planted optimal model per cell, and an ε-greedy logging policy
            (ε = 0.5) around the worst model of each cell. Each outcome is a signals.decision (egreedy_v2, d = 12,
            propensities logged), then its feedback.reward (joined by decision_id) and a feedback.routing outcome,
            published in chunks of 1,000 outcomes, decisions first.
            Everything, event ids included, is a function of --seed: a second run with the same seed is a duplicate.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(name: .long, help: "World and log seed.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Outcomes to publish (each is a decision, a reward and a routing outcome).")
    var events: Int = SyntheticLog.defaultOutcomes

    @Option(name: .long, help: "Write the answer key (JSON) to this file.")
    var out: String?

    @Flag(
        name: .long,
        help: """
            A drifting world: halfway through (by event time) the task effects of 4 of the 7 task types rotate among \
            the models, moving the planted optimum of about half the cells; the answer key holds the optimum \
            after the change.
            """)
    var drift = false

    func validate() throws {
        guard events >= 1 && events <= 1_000_000 else { throw ValidationError("--events must be 1…1000000") }
    }

    func run() throws {
        let configuration = try options.load()
        guard let policy = configuration.policies[SyntheticWorld.policy],
            policy.dimension == SyntheticWorld.dimension
        else {
            CommandOutput.fail(
                "simulate needs policy \(SyntheticWorld.policy) with dimension \(SyntheticWorld.dimension) in the configuration"
            )
        }
        let log = SyntheticLog(world: SyntheticWorld(seed: seed, drifts: drift), count: events)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]  // byte-identical bodies for a seed
        func message(_ event: Event) throws -> NATSConnection.OutgoingMessage {
            NATSConnection.OutgoingMessage(
                subject: event.subject.rawValue, headers: ["Nats-Msg-Id": event.eventID.uuidString.lowercased()],
                body: Array(try encoder.encode(event)))
        }
        // The key first: a bad --out fails before anything is published (a re-run with the same seed
        // then publishes duplicates only).
        if let out {
            do {
                let keyEncoder = JSONEncoder()
                keyEncoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try keyEncoder.encode(AnswerKey(log: log)).write(to: URL(fileURLWithPath: out))
            } catch {
                CommandOutput.fail("cannot write the answer key to \(out): \(error)")
            }
        }
        let connection: NATSConnection
        do {
            connection = try NATSConnection(options: NATSOptionsFactory.make(configuration.nats))
        } catch {
            CommandOutput.fail("\(error)")
        }
        defer { connection.close() }
        var published = 0
        var duplicates = 0
        do {
            _ = try StreamTopology(configuration.nats).ensure(on: connection)
            // In chunks of 1,000 outcomes: the decisions first (JetStream has stored every one before
            // any of their rewards is published), then their rewards and routing outcomes. The
            // feedback stream carries twice as many messages, so the daemon's signals consumer stays
            // ahead and a reward rarely waits for its decision (if it does: nak with delay, CONTRACT §2).
            for start in stride(from: 0, to: log.outcomes.count, by: 1_000) {
                let chunk = log.outcomes[start..<min(log.outcomes.count, start + 1_000)]
                let decisions = try chunk.map { try message(log.decision($0)) }
                let feedback = try chunk.flatMap { [try message(log.reward($0)), try message(log.routing($0))] }
                for batch in [decisions, feedback] {
                    let acks = try connection.publishPipelined(batch)
                    published += acks.count
                    duplicates += acks.filter(\.duplicate).count
                }
            }
        } catch {
            CommandOutput.fail("\(error)")
        }
        CommandOutput.print(
            "{\"seed\":\(seed),\"outcomes\":\(log.outcomes.count),\"published\":\(published),"
                + "\"duplicates\":\(duplicates),\"answer_key\":\(out.map(JSONText.string) ?? "null")}")
    }
}
