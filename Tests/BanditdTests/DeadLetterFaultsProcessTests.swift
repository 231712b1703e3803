import BanditCore
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// Issue 10, defect 3: a dead letter that cannot be stored must not wedge its consumer. With
/// DEADLETTER full (`max_msgs` + `discard new`) or deleted the message is set aside — kept alive,
/// retried — while the messages behind it are processed, and health says so; once DEADLETTER
/// takes dead letters again they are stored and the originals termed, each counted once. A body so
/// close to the server's max_payload that the dead-letter headers no longer fit is dead-lettered
/// without its body. And (defect 9, part) a dead letter JetStream de-duplicates is not counted.
@Suite(.postgresServer, .serialized)
struct DeadLetterFaultsProcessTests {
    /// Invalid messages (their dead letters must wait) interleaved with valid ones on both streams.
    private struct Mixed {
        var workload = FaultWorkload()
        var invalid: [(subject: String, msgID: String, body: [UInt8])] = []

        mutating func messages(rounds: Int, tag: String) throws -> [NATSConnection.OutgoingMessage] {
            let encoder = JSONEncoder()
            var messages: [NATSConnection.OutgoingMessage] = []
            func add(_ event: Event) throws {
                messages.append(
                    NATSConnection.OutgoingMessage(
                        subject: event.subject.rawValue,
                        headers: ["Nats-Msg-Id": event.eventID.uuidString.lowercased()],
                        body: Array(try encoder.encode(event))))
            }
            for round in 0..<rounds {
                let subject = round % 3 == 2 ? "signals.task.synced" : "feedback.reward"
                let body = Array(#"{"event_id": "\#(tag)-\#(round)", "#.utf8)
                let msgID = "invalid-\(tag)-\(round)"
                invalid.append((subject, msgID, body))
                messages.append(
                    NATSConnection.OutgoingMessage(subject: subject, headers: ["Nats-Msg-Id": msgID], body: body))
                for index in 0..<8 { try add(workload.reward(user: "u\(index % 3)", arm: "a\(round)")) }
                try add(workload.sync(user: "s-\(tag)-\(round)", count: round))
            }
            return messages
        }
    }

    /// The dead letters set aside: one message per invalid body, still ack-pending on its consumer.
    private func ackPending(_ nats: NATSConnection) throws -> Int {
        try ["SIGNALS": "feature-pipeline-signals", "FEEDBACK": "feature-pipeline-feedback"].reduce(0) {
            $0 + (try nats.consumerInfo(stream: $1.key, consumer: $1.value).ackPending)
        }
    }

    /// While DEADLETTER refuses: the valid messages behind the invalid ones are applied, the
    /// invalid ones wait (ack-pending, kept alive past the ack wait), health is degraded.
    private func expectSetAside(
        _ probe: FaultProbe, _ mixed: Mixed, waiting: Int, database: PostgresConnection, nats: NATSConnection,
        storedBefore: Int
    ) throws {
        try probe.stack.waitForProcessed(mixed.workload.events.count, database, timeout: .seconds(30))
        try waitUntil(timeout: .seconds(15)) { try probe.health().deadLettersWaiting == waiting }
        let during = try probe.health()
        #expect(during.status == "degraded" && !during.ok && during.exitStatus != 0, "\(during)")
        // Full or deleted, it needs an operator: said so (and retried from 5 s, not 1 s).
        #expect(
            during.workers.values.contains {
                ($0["dead_letter_failure"] as? String)?.hasPrefix("the DEADLETTER stream refuses dead letters") == true
            }, "\(during)")
        #expect(try ackPending(nats) == waiting)
        // Past the ack wait: still waiting with this daemon, not redelivered.
        Thread.sleep(forTimeInterval: Double(FaultProbe.ackWait) + 2)
        #expect(try ackPending(nats) == waiting)
        #expect(try probe.health().total("redelivered") == 0)
        #expect(try probe.health().total("dead_lettered") == storedBefore)
    }

    /// Once DEADLETTER takes them: every invalid message has one dead letter with its body, its
    /// first delivery, and the originals are termed.
    private func expectStored(
        _ probe: FaultProbe, _ mixed: Mixed, letters expected: Int, counted: Int, nats: NATSConnection
    ) throws {
        try waitUntil(timeout: .seconds(60), poll: .milliseconds(250)) {
            try probe.deadLetters(nats).count == expected
        }
        try waitUntil(timeout: .seconds(15)) { try ackPending(nats) == 0 }
        let letters = try probe.deadLetters(nats)
        let byID = Dictionary(letters.map { ($0.headers["Deadletter-Original-Msg-Id"] ?? "?", $0) }) { first, _ in first
        }
        #expect(byID.count == letters.count, "one dead letter per message")
        for invalid in mixed.invalid {
            let letter = try #require(byID[invalid.msgID], "no dead letter for \(invalid.msgID)")
            #expect(letter.body == invalid.body)
            #expect(letter.headers["Deadletter-Reason"] == "json.invalid")
            #expect(letter.headers["Deadletter-Deliveries"] == "1", "no delivery spent while set aside")
        }
        try waitUntil(timeout: .seconds(15)) { try probe.health().status == "ready" }
        let after = try probe.health()
        #expect(after.deadLettersWaiting == 0)
        #expect(after.total("dead_lettered") == counted, "each dead letter counted once: \(after)")
        #expect(after.total("redelivered") == 0)
    }

    @Test func withDeadletterFullTheInvalidMessagesWaitWhileTheRestAppliesAndAreStoredOnceItHasRoom() async throws {
        try await FaultProbe.with { probe in
            let daemon = try probe.startDaemon(log: "full.log")
            let nats = try probe.stack.connectNATS()
            let database = try probe.stack.connectDatabase()
            var mixed = Mixed()
            _ = try nats.publishPipelined(try mixed.messages(rounds: 1, tag: "first"))
            try waitUntil(timeout: .seconds(20)) { try probe.deadLetters(nats).count == 1 }

            // Full: one message allowed, and new ones refused.
            var full = try nats.streamInfo("DEADLETTER").config
            full.maxMessages = 1
            full.discard = .new
            _ = try nats.updateStream(full)
            _ = try nats.publishPipelined(try mixed.messages(rounds: 6, tag: "full"))
            try expectSetAside(probe, mixed, waiting: 6, database: database, nats: nats, storedBefore: 1)
            #expect(try probe.deadLetters(nats).count == 1)
            let setAside = FaultProbe.logLines(daemon, message: "dead letter not stored")
            #expect(setAside.count == 6)

            var roomy = full
            roomy.maxMessages = -1
            roomy.discard = .old
            _ = try nats.updateStream(roomy)
            try expectStored(probe, mixed, letters: 7, counted: 7, nats: nats)
            #expect(try probe.applied(database) == mixed.workload.events.count)
            #expect(try mixed.workload.stateMismatches(database) == [])
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    @Test func withDeadletterDeletedTheInvalidMessagesWaitAndStreamsEnsureLetsThemBeStored() async throws {
        try await FaultProbe.with { probe in
            let daemon = try probe.startDaemon(log: "deleted.log")
            let nats = try probe.stack.connectNATS()
            let database = try probe.stack.connectDatabase()
            var mixed = Mixed()
            _ = try nats.publishPipelined(try mixed.messages(rounds: 1, tag: "first"))
            try waitUntil(timeout: .seconds(20)) { try probe.deadLetters(nats).count == 1 }

            try nats.deleteStream("DEADLETTER")
            mixed.invalid.removeAll()  // its dead letter went with the stream
            _ = try nats.publishPipelined(try mixed.messages(rounds: 6, tag: "deleted"))
            try expectSetAside(probe, mixed, waiting: 6, database: database, nats: nats, storedBefore: 1)

            let ensure = try ChildProcess.run(
                OperationsStack.binary, arguments: ["streams", "ensure"], environment: probe.environment,
                logFile: probe.stack.directory.appending("ensure.log"))
            #expect(ensure.contains("stream DEADLETTER: created"))
            try expectStored(probe, mixed, letters: 6, counted: 7, nats: nats)
            #expect(try probe.applied(database) == mixed.workload.events.count)
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    @Test func aBodyNearTheServersMaxPayloadIsDeadLetteredWithoutItAndStaysReadableInItsStream() async throws {
        try await FaultProbe.with { probe in
            let daemon = try probe.startDaemon(log: "big.log")
            let nats = try probe.stack.connectNATS()
            let database = try probe.stack.connectDatabase()
            #expect(nats.maxPayload == 1_048_576)
            // The probe's body: 1,048,367 bytes fit in a 1 MiB message with the producer's
            // headers, but not with the dead letter's.
            let size = 1_048_367
            let head = Array(
                #"{"event_id":"\#(UUID().uuidString.lowercased())","schema_version":1,"occurred_at":"2026-04-25T10:00:00Z","user_id":"u","reward":0.5,"policy":"linucb_v1","arm_id":"a","features":[1,2,3,4,5],"padding":""#
                    .utf8)
            let body = head + [UInt8](repeating: UInt8(ascii: "x"), count: size - head.count - 2) + Array(#""}"#.utf8)
            #expect(body.count == size)
            let ack = try nats.publish(
                subject: "feedback.reward",
                headers: [
                    "Nats-Msg-Id": "big-1", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                ],
                body: body)
            var workload = FaultWorkload()
            try probe.stack.publish([workload.reward(user: "u1", arm: "a1")], on: nats)

            try waitUntil(timeout: .seconds(20)) { try probe.deadLetters(nats).count == 1 }
            try probe.stack.waitForProcessed(1, database, timeout: .seconds(20))
            let letter = try #require(try probe.deadLetters(nats).first)
            #expect(letter.body.isEmpty)
            #expect(letter.headers["Deadletter-Body-Omitted"] == String(size))
            #expect(letter.headers["Deadletter-Reason"] == "payload.too_large")
            #expect(letter.headers["Deadletter-Detail"]?.contains("65536") == true)
            #expect(letter.headers["Deadletter-Stream"] == "FEEDBACK")
            #expect(letter.headers["Deadletter-Seq"] == String(ack.sequence))
            #expect(letter.headers["Deadletter-Deliveries"] == "1")
            #expect(letter.headers["Deadletter-Subject"] == "feedback.reward")
            #expect(letter.headers["Nats-Msg-Id"] == "dl-FEEDBACK-\(ack.sequence)")
            #expect(letter.headers["Deadletter-Original-Msg-Id"] == "big-1")
            #expect(letter.headers["traceparent"] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            // The original, whole, where the dead letter points.
            let original = try #require(
                try nats.getMessage(stream: "FEEDBACK", sequence: UInt64(letter.headers["Deadletter-Seq"] ?? "") ?? 0))
            #expect(original.body == body)

            try waitUntil(timeout: .seconds(10)) { try ackPending(nats) == 0 }
            let health = try probe.health()
            #expect(health.status == "ready" && health.deadLettersWaiting == 0, "\(health)")
            #expect(health.counter("feedback", "dead_lettered") == 1)
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    @Test func aDeadLetterJetStreamDeduplicatesIsTermedAndNotCountedAgain() async throws {
        try await FaultProbe.with { probe in
            let daemon = try probe.startDaemon(log: "duplicate.log")
            let nats = try probe.stack.connectNATS()
            // An earlier daemon stored this message's dead letter and died before terming it: the
            // redelivery's dead letter is a JetStream duplicate of it.
            let sequence = try nats.streamInfo("FEEDBACK").state.lastSequence + 1
            let body = Array(#"{"event_id": 1"#.utf8)
            try nats.publish(
                subject: "deadletter.feedback.reward",
                headers: [
                    "Nats-Msg-Id": "dl-FEEDBACK-\(sequence)", "Deadletter-Reason": "json.invalid",
                    "Deadletter-Original-Msg-Id": "twice",
                ], body: body)
            let ack = try nats.publish(subject: "feedback.reward", headers: ["Nats-Msg-Id": "twice"], body: body)
            #expect(ack.sequence == sequence)
            try waitUntil(timeout: .seconds(20)) {
                FaultProbe.logLines(daemon, message: "message dead-lettered").contains {
                    $0["duplicate"] as? String == "true"
                }
            }
            try waitUntil(timeout: .seconds(10)) { try ackPending(nats) == 0 }
            #expect(try probe.deadLetters(nats).count == 1)
            #expect(try probe.health().counter("feedback", "dead_lettered") == 0)

            // A dead letter it stores itself is counted, once.
            try nats.publish(subject: "feedback.reward", headers: ["Nats-Msg-Id": "once"], body: body)
            try waitUntil(timeout: .seconds(20)) { try probe.deadLetters(nats).count == 2 }
            try waitUntil(timeout: .seconds(10)) { try probe.health().counter("feedback", "dead_lettered") == 1 }
            let metrics = try probe.stack.run(
                ["health", "--metrics", "--socket", probe.stack.healthSocket], log: "m.log")
            #expect(
                metrics.output.contains(
                    #"banditd_messages_dead_lettered_total{consumer="feedback",reason="json.invalid"} 1"#),
                "\(metrics.output)")
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    @Test func aParkedRewardWhoseDeadLetterJetStreamDeduplicatesIsNotCountedAgain() async throws {
        try await FaultProbe.with { probe in
            let daemon = try probe.startDaemon(log: "parked-duplicate.log", extra: ["BANDITD_EARLY_REWARD_WAIT_S": "1"])
            let nats = try probe.stack.connectNATS()
            let database = try probe.stack.connectDatabase()
            // A reward whose decision never comes, whose dead letter an earlier daemon stored (its
            // sweep was cut off before it removed the parked row).
            let reward = Event.reward(
                try! Reward(
                    eventID: UUID(), occurredAt: Date(), userID: "u1", reward: 0.5, target: .decision(id: UUID())))
            let body = Array(try JSONEncoder().encode(reward))
            let sequence = try nats.streamInfo("FEEDBACK").state.lastSequence + 1
            try nats.publish(
                subject: "deadletter.feedback.reward",
                headers: ["Nats-Msg-Id": "dl-FEEDBACK-\(sequence)", "Deadletter-Reason": "max_deliveries"], body: body)
            let ack = try nats.publish(
                subject: "feedback.reward", headers: ["Nats-Msg-Id": reward.eventID.uuidString.lowercased()],
                body: body)
            #expect(ack.sequence == sequence)
            try waitUntil(timeout: .seconds(20)) {
                FaultProbe.logLines(daemon, message: "parked reward dead-lettered").contains {
                    $0["duplicate"] as? String == "true"
                }
            }
            try waitUntil(timeout: .seconds(10)) { try probe.count("parked_rewards", database) == 0 }
            #expect(try probe.count("processed_events", database) == 0)
            #expect(try probe.deadLetters(nats).count == 1)
            #expect(try probe.health().total("dead_lettered") == 0, "a JetStream duplicate is not a new dead letter")
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }
}
