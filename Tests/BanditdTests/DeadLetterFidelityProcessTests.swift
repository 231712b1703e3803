import Foundation
import NATSKit
import TestSupport
import Testing

/// What a dead letter keeps of its original, through the real daemon: every header, and the
/// producer's message id across `dlq replay` and a second dead-lettering.
@Suite(.postgresServer, .serialized)
struct DeadLetterFidelityProcessTests {
    /// The dead letters in DEADLETTER, oldest first.
    static func deadLetters(_ nats: NATSConnection) throws -> [StoredMessage] {
        var letters: [StoredMessage] = []
        var from: UInt64 = 1
        while let message = try nats.nextMessage(stream: "DEADLETTER", from: from, subject: "deadletter.>") {
            letters.append(message)
            from = message.sequence + 1
        }
        return letters
    }

    @Test func everyOneOfTwoHundredHeadersSurvivesIntoTheDeadLetter() async throws {
        try await OperationsStack.with { stack in
            let daemon = try stack.startDaemon(log: "headers.log")
            let nats = try stack.connectNATS()
            var headers = NATSHeaders()
            for index in 0..<200 { headers.add("X-Probe-\(index)", "value \(index) of 200") }
            headers.add("X-Probe-Repeated", "first")
            headers.add("X-Probe-Repeated", "second")
            headers.set("Nats-Msg-Id", "producer-id-200")
            try nats.publish(subject: "signals.task.synced", headers: headers, body: Array(#"{"event_id": "#.utf8))
            try waitUntil(timeout: .seconds(20)) { try nats.streamInfo("DEADLETTER").state.messages == 1 }

            let letter = try #require(try Self.deadLetters(nats).first)
            #expect(letter.headers["Deadletter-Reason"] == "json.invalid")
            for index in 0..<200 {
                #expect(letter.headers.values(for: "X-Probe-\(index)") == ["value \(index) of 200"])
            }
            #expect(letter.headers.values(for: "X-Probe-Repeated") == ["first", "second"])
            #expect(letter.headers["Deadletter-Original-Msg-Id"] == "producer-id-200")
            let original = letter.headers.filter { $0.name.hasPrefix("X-Probe-") }
            #expect(original.count == 202)

            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    @Test func theProducersMessageIdSurvivesReplayAndASecondDeadLetter() async throws {
        try await OperationsStack.with { stack in
            let config = stack.directory.appending("without-egreedy-v2.json")
            try DlqProcessTests.configWithoutEgreedyV2.write(toFile: config, atomically: true, encoding: .utf8)
            let daemon = try stack.startDaemon(arguments: ["--config", config], log: "replay-id.log")
            let nats = try stack.connectNATS()
            let reward = try OperationsStack.inlineReward(
                user: "u1", policy: "egreedy_v2", arm: "a1", features: DlqProcessTests.features12, reward: 0.5)
            try nats.publish(
                subject: "feedback.reward", headers: ["Nats-Msg-Id": "producer-id-7", "X-Kept": "yes"],
                body: reward.body)
            try waitUntil(timeout: .seconds(20)) { try nats.streamInfo("DEADLETTER").state.lastSequence == 1 }
            #expect(try Self.deadLetters(nats).first?.headers["Deadletter-Original-Msg-Id"] == "producer-id-7")

            // Replayed while the policy is still unknown: dead-lettered again, twice.
            for round in 2...3 {
                let output = try stack.command(["dlq", "replay"])
                #expect(output.contains("replayed 1 dead letter(s)"), "\(output)")
                try waitUntil(timeout: .seconds(20)) {
                    try nats.streamInfo("DEADLETTER").state.lastSequence == UInt64(round)
                }
                let letters = try Self.deadLetters(nats)
                #expect(letters.count == 1)
                let letter = try #require(letters.first)
                #expect(letter.headers["Deadletter-Reason"] == "policy.unknown")
                #expect(letter.headers["Deadletter-Original-Msg-Id"] == "producer-id-7")
                #expect(letter.headers["X-Kept"] == "yes")
                #expect(letter.headers[DeadLetterArchiveHeader.replayOriginal] == nil)
                #expect(letter.body == reward.body)
            }
            // The replays themselves: their own id, the producer's id alongside.
            let lastReplay = try #require(
                try nats.getMessage(stream: "FEEDBACK", sequence: try nats.streamInfo("FEEDBACK").state.lastSequence))
            #expect(lastReplay.headers["Nats-Msg-Id"] == "replay-2")
            #expect(lastReplay.headers[DeadLetterArchiveHeader.replayOriginal] == "producer-id-7")
            #expect(lastReplay.headers.values(for: "X-Kept") == ["yes"])

            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }
}

/// The header name as the daemon writes it (spelled out, so a rename shows up here).
enum DeadLetterArchiveHeader {
    static let replayOriginal = "Banditd-Original-Msg-Id"
}
