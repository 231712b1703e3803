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
}
