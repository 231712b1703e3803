import ArgumentParser
import BanditConfig
import BanditWorker
import Foundation
import NATSKit

struct DlqCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Inspect and re-drive the dead letters in the DEADLETTER stream.",
        subcommands: [List.self, Replay.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the dead letters (oldest first) without consuming them."
        )

        @OptionGroup var options: ConfigurationOptions

        @Option(help: "Print at most N dead letters.")
        var limit: Int?

        @Option(help: "Only dead letters with this Deadletter-Reason (e.g. policy.unknown).")
        var reason: String?

        @Option(help: "json (one object per line, the default) | table.")
        var format: OutputFormat = .json

        @Flag(help: ArgumentHelp("The same as --format json (the default).", visibility: .hidden))
        var json = false

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
            if json && format != .json { throw ValidationError("--json and --format table exclude each other") }
        }

        func run() throws {
            let connection = try DlqConnection.open(options)
            defer { connection.close() }
            let entries: [DeadLetterArchive.Entry]
            do {
                entries = try DeadLetterArchive(connection: connection).list(reason: reason, limit: limit)
            } catch {
                CommandOutput.fail("\(error)")
            }
            switch format {
            case .json:
                for entry in entries { CommandOutput.print(DlqFormat.json(entry)) }
            case .table:
                CommandOutput.print(ReportValue.array(entries.map(DlqFormat.value)).rendered(.table))
                FileHandle.standardError.write(Data("\(entries.count) dead letter(s)\n".utf8))
            }
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Re-publish dead letters to their original subjects (Nats-Msg-Id replay-{seq}), then delete them.",
            discussion: """
                Each selected dead letter's original body goes to its Deadletter-Subject with its original \
                headers (without the Deadletter-* ones and the original Nats-Msg-Id) and Nats-Msg-Id \
                replay-{dead-letter sequence}; the producer's id goes along in Banditd-Original-Msg-Id, so a \
                replay that is dead-lettered again keeps it in Deadletter-Original-Msg-Id. After \
                JetStream's PubAck the dead letter is deleted. Safe to \
                run again after an interruption: a replay published twice is a JetStream duplicate inside \
                the duplicate window, and after it a ledger duplicate (its event_id applies once).
                """
        )

        @OptionGroup var options: ConfigurationOptions

        @Option(help: "Only dead letters with this Deadletter-Reason (e.g. policy.unknown).")
        var reason: String?

        @Option(help: "Replay at most N dead letters.")
        var limit: Int?

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() throws {
            let connection = try DlqConnection.open(options)
            defer { connection.close() }
            var count = 0
            do {
                try DeadLetterArchive(connection: connection).replay(reason: reason, limit: limit) { result in
                    count += 1
                    CommandOutput.print(DlqFormat.replayed(result))
                }
            } catch {
                CommandOutput.print("replayed \(count) dead letter(s) before the failure")
                CommandOutput.fail("\(error)")
            }
            CommandOutput.print("replayed \(count) dead letter(s)")
        }
    }
}

enum DlqConnection {
    static func open(_ options: ConfigurationOptions) throws -> NATSConnection {
        let configuration = try options.load()
        do {
            return try NATSConnection(options: NATSOptionsFactory.make(configuration.nats))
        } catch {
            CommandOutput.fail("\(error)")
        }
    }
}

enum DlqFormat {
    /// The members of ``json(_:)``, for `--format table`.
    static func value(_ entry: DeadLetterArchive.Entry) -> ReportValue {
        .object([
            ("seq", .integer(Int64(entry.sequence))), ("stored_at", .string(entry.storedAt)),
            ("subject", .string(entry.originalSubject)), ("reason", .string(entry.reason)),
            ("deliveries", entry.deliveries.map { .integer(Int64($0)) } ?? .null),
            ("stream", .string(entry.originalStream)),
            ("stream_seq", entry.originalSequence.map { .integer(Int64($0)) } ?? .null),
            ("body_bytes", .integer(entry.message.body.count)), ("detail", .string(entry.detail)),
        ])
    }

    static func json(_ entry: DeadLetterArchive.Entry) -> String {
        var object: [String: Any] = [
            "seq": entry.sequence, "subject": entry.originalSubject, "reason": entry.reason, "detail": entry.detail,
            "stored_at": entry.storedAt, "deliveries": entry.deliveries.map { $0 as Any } ?? NSNull(),
            "stream": entry.originalStream.map { $0 as Any } ?? NSNull(),
            "stream_seq": entry.originalSequence.map { $0 as Any } ?? NSNull(),
        ]
        object["body_bytes"] = entry.message.body.count
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func replayed(_ result: DeadLetterArchive.ReplayResult) -> String {
        let outcome = result.pubAck.duplicate ? "duplicate (already replayed)" : "stored"
        let deletion = result.deleted ? "dead letter deleted" : "dead letter already gone"
        return
            "replayed \(result.entry.sequence) \(result.entry.reason) → \(result.entry.originalSubject) as \(result.pubAck.stream)/\(result.pubAck.sequence) (\(result.messageID), \(outcome)); \(deletion)"
    }
}
