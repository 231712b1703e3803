import BanditCore
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

extension OperationsStack {
    /// Runs `banditd arguments…` to completion, whatever its exit status: the status and the
    /// output (stdout, then `banditd: …` lines on stderr).
    func run(_ arguments: [String], log: String) throws -> (status: Int32?, output: String) {
        let child = try ChildProcess(
            Self.binary, arguments: arguments, environment: environment, logFile: directory.appending(log))
        let status = child.waitForExit(timeout: .seconds(180))
        child.stop(timeout: .seconds(5))
        return (status, child.log())
    }

    /// The first JSON line of a command's output.
    static func json(_ output: String) throws -> Any {
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("{") || $0.hasPrefix("[") })
        return try JSONSerialization.jsonObject(with: Data(line.utf8))
    }

    /// The output without the `banditd: …` stderr lines.
    static func stdout(_ output: String) -> String {
        output.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("banditd: ") }
            .joined(separator: "\n")
    }

    /// Publishes events (JSON bodies, `Nats-Msg-Id` = event id unless `msgIDSuffix` changes it).
    func publish(_ events: [Event], on nats: NATSConnection, msgIDSuffix: String = "") throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        _ = try nats.publishPipelined(
            try events.map {
                NATSConnection.OutgoingMessage(
                    subject: $0.subject.rawValue,
                    headers: ["Nats-Msg-Id": $0.eventID.uuidString.lowercased() + msgIDSuffix],
                    body: Array(try encoder.encode($0)))
            })
    }

    func waitForProcessed(_ count: Int, _ database: PostgresConnection, timeout: Duration = .seconds(180)) throws {
        try waitUntil(timeout: timeout, poll: .milliseconds(200)) {
            try database.query(
                "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
            ).rows[0].int(0) == count
        }
    }
}
