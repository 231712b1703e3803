import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// `banditd dlq list` and `banditd dlq replay` against a real daemon, NATS and PostgreSQL.
@Suite(.postgresServer, .serialized)
struct DlqProcessTests {
    /// The shipped policies without `egreedy_v2`: its rewards are dead-lettered as policy.unknown.
    static let configWithoutEgreedyV2 = """
        {"policies": [
          {"name": "linucb_v1", "algorithm": "linucb", "dimension": 5, "alpha": 1.0, "version": "1.0.0"},
          {"name": "egreedy_v1", "algorithm": "egreedy", "dimension": 7, "epsilon": 0.1, "version": "1.0.0"},
          {"name": "routing_v1", "algorithm": "linucb", "dimension": 8, "alpha": 1.0, "version": "1.0.0"}
        ]}
        """

    static let features12 = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, -0.1, -0.2]

    @Test func listReadsWithoutConsumingAndReplayAppliesAPolicyUnknownEventExactlyOnce() async throws {
        try await OperationsStack.with { stack in
            let config = stack.directory.appending("without-egreedy-v2.json")
            try Self.configWithoutEgreedyV2.write(toFile: config, atomically: true, encoding: .utf8)
            var daemon = try stack.startDaemon(arguments: ["--config", config], log: "d1.log")
            let nats = try stack.connectNATS()
            let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            var ids: [UUID] = []
            for user in ["u1", "u2"] {
                let reward = try OperationsStack.inlineReward(
                    user: user, policy: "egreedy_v2", arm: "a1", features: Self.features12, reward: 0.5)
                ids.append(reward.id)
                try nats.publish(
                    subject: "feedback.reward",
                    headers: ["Nats-Msg-Id": reward.id.uuidString, "traceparent": traceparent], body: reward.body)
            }
            try nats.publish(subject: "signals.task.synced", body: Array(#"{"event_id": "#.utf8))
            try waitUntil(timeout: .seconds(20)) { try nats.streamInfo("DEADLETTER").state.messages == 3 }

            // list: every dead letter, oldest first; the filter and the limit; JSON; nothing consumed.
            let listOutput = try stack.command(["dlq", "list", "--format", "table"])
            let listed = listOutput.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
                .filter { $0.count > 8 && ["feedback.reward", "signals.task.synced"].contains($0[2]) }
            #expect(listed.count == 3, "\(listOutput)")
            #expect(listOutput.contains("3 dead letter(s)"))
            #expect(listed.filter { $0[2...5] == ["feedback.reward", "policy.unknown", "1", "FEEDBACK"] }.count == 2)
            #expect(listed.contains { $0[2...6] == ["signals.task.synced", "json.invalid", "1", "SIGNALS", "1"] })
            #expect(listOutput.contains(#"policy: expected a configured policy"#))
            let jsonOutput = try stack.command(["dlq", "list", "--reason", "policy.unknown", "--limit", "1", "--json"])
            let filtered = jsonOutput.split(separator: "\n").filter { $0.hasPrefix("{") }
            #expect(filtered.count == 1, "\(jsonOutput)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(filtered[0].utf8)) as? [String: Any])
            #expect(object["reason"] as? String == "policy.unknown")
            #expect(object["subject"] as? String == "feedback.reward")
            #expect(object["stream"] as? String == "FEEDBACK")
            #expect(object["deliveries"] as? Int == 1)
            #expect(object["seq"] as? Int != nil)
            #expect(object["stored_at"] as? String != nil)
            #expect(try nats.streamInfo("DEADLETTER").state.messages == 3)
            let database = try stack.connectDatabase()
            func applied() throws -> Int {
                try database.query(
                    "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
                ).rows[0].int(0)
            }
            #expect(try applied() == 0)

            // The configuration gains the policy: a daemon with the shipped defaults.
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
            daemon = try stack.startDaemon(log: "d2.log", readyCount: 2)

            // An earlier replay run was interrupted after publishing the second dead letter but
            // before deleting it: its replay id is already in FEEDBACK.
            let second = try #require(
                try DeadLetterReader(nats).entries().filter { $0.reason == "policy.unknown" }.last)
            try nats.publish(
                subject: "feedback.reward", headers: ["Nats-Msg-Id": "replay-\(second.sequence)"], body: second.body)

            let replay = try stack.command(["dlq", "replay", "--reason", "policy.unknown"])
            #expect(replay.contains("replayed 2 dead letter(s)"))
            #expect(replay.contains("replay-\(second.sequence), duplicate (already replayed)"))
            try waitUntil(timeout: .seconds(20)) { try applied() == 2 }
            #expect(try nats.streamInfo("DEADLETTER").state.messages == 1)  // the json.invalid one stays

            // The replayed message: original subject and headers, a replay id, no Deadletter-*.
            let first = try #require(try nats.getMessage(stream: "FEEDBACK", sequence: 4))
            #expect(first.headers["traceparent"] == traceparent)
            #expect(first.headers["Nats-Msg-Id"]?.hasPrefix("replay-") == true)
            #expect(!first.headers.contains { $0.name.hasPrefix("Deadletter-") })
            #expect(try nats.streamInfo("FEEDBACK").state.messages == 4)  // 2 originals + 2 replays, not 3

            // Replaying again finds nothing, and re-publishing a replay changes nothing.
            #expect(try stack.command(["dlq", "replay", "--reason", "policy.unknown"]).contains("replayed 0"))
            try nats.publish(subject: "feedback.reward", headers: ["Nats-Msg-Id": "again"], body: second.body)
            Thread.sleep(forTimeInterval: 1)
            #expect(try applied() == 2)
            let state = try database.query(
                "SELECT count(*), sum(n) FROM bandit_state WHERE policy = 'egreedy_v2'"
            ).rows[0]
            #expect(try state.int(0) == 2)
            #expect(try state.int(1) == 2)
            let ledger = try database.query("SELECT event_id::text FROM processed_events ORDER BY 1").rows
            #expect(Set(try ledger.map { try $0.string(0).uppercased() }) == Set(ids.map(\.uuidString)))

            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }
}

/// Reads DEADLETTER the way `dlq list` does, for assertions.
private struct DeadLetterReader {
    struct Entry {
        var sequence: UInt64
        var reason: String
        var body: [UInt8]
    }

    let nats: NATSConnection

    init(_ nats: NATSConnection) { self.nats = nats }

    func entries() throws -> [Entry] {
        var entries: [Entry] = []
        var from: UInt64 = 1
        while let message = try nats.nextMessage(stream: "DEADLETTER", from: from, subject: "deadletter.>") {
            entries.append(
                Entry(
                    sequence: message.sequence, reason: message.headers["Deadletter-Reason"] ?? "", body: message.body))
            from = message.sequence + 1
        }
        return entries
    }
}
