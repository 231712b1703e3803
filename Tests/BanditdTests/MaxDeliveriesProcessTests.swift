import BanditCore
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// Issue 10, defect 2, end to end with the real daemon: messages whose deliveries run out while
/// no daemon settles them (each daemon that held them was killed) are dead-lettered by a restarted
/// daemon from the server's max-deliveries advisory. Every published event ends applied exactly
/// once or in DEADLETTER — none in neither, none in both.
@Suite(.postgresServer, .serialized)
struct MaxDeliveriesProcessTests {
    @Test func messagesWhoseDeliveriesRanOutWhileDaemonsWereKilledAreDeadLetteredByTheNextDaemon() async throws {
        try await FaultProbe.with { probe in
            // max_deliver 2 and an ack wait of 2 s: two kills spend every delivery within seconds.
            // One apply lane: the locked row holds every feedback message, not only its user's lane.
            let extra = [
                "NATS_MAX_DELIVER": "2", "NATS_ACK_WAIT_S": "2", "WATCHDOG_USEC": "4000000", "BANDITD_APPLY_LANES": "1",
            ]
            var daemon = try probe.startDaemon(log: "first.log", extra: extra)
            let nats = try probe.stack.connectNATS()
            let database = try probe.stack.connectDatabase()
            var workload = FaultWorkload()
            let encoder = JSONEncoder()
            var bodies: [String: [UInt8]] = [:]
            func publish(_ events: [Event]) throws {
                for event in events { bodies[event.eventID.uuidString.lowercased()] = Array(try encoder.encode(event)) }
                _ = try nats.publishPipelined(
                    events.map {
                        NATSConnection.OutgoingMessage(
                            subject: $0.subject.rawValue, headers: ["Nats-Msg-Id": $0.eventID.uuidString.lowercased()],
                            body: bodies[$0.eventID.uuidString.lowercased()]!)
                    })
            }
            try publish([workload.reward(user: "u-locked", arm: "a-locked")])
            try probe.stack.waitForProcessed(1, database, timeout: .seconds(30))

            // The daemons hold these (a row they need is locked) when they are killed.
            let locker = try probe.stack.connectDatabase()
            try locker.execute("BEGIN")
            _ = try locker.query("SELECT n FROM bandit_state WHERE user_id = 'u-locked' FOR UPDATE")
            var doomed = FaultWorkload()
            for index in 0..<30 {
                doomed.reward(
                    user: index % 3 == 0 ? "u-locked" : "u\(index % 4)", arm: index % 3 == 0 ? "a-locked" : "a1")
            }
            try publish(doomed.events)
            func feedback() throws -> ConsumerInfo {
                try nats.consumerInfo(stream: "FEEDBACK", consumer: "feature-pipeline-feedback")
            }
            try waitUntil(timeout: .seconds(15)) {
                try probe.health().holdCode(of: "feedback") == "postgres_lock_timeout" && feedback().ackPending == 30
            }
            daemon.signal(SIGKILL)
            _ = daemon.waitForExit(timeout: .seconds(10))
            // The second delivery, to a second daemon, which is killed too.
            daemon = try probe.startDaemon(log: "second.log", extra: extra, readyCount: 2)
            try waitUntil(timeout: .seconds(20)) {
                let info = try feedback()
                return info.redelivered == 30 && info.ackPending == 30
            }
            daemon.signal(SIGKILL)
            _ = daemon.waitForExit(timeout: .seconds(10))
            try locker.execute("ROLLBACK")

            // A third daemon: the server notices on its pulls that the deliveries ran out.
            daemon = try probe.startDaemon(log: "third.log", extra: extra, readyCount: 3)
            var fresh = FaultWorkload()
            for index in 0..<20 { fresh.reward(user: "u\(index % 4)", arm: "a2") }
            try publish(fresh.events)
            try waitUntil(timeout: .seconds(60), poll: .milliseconds(250)) {
                try probe.deadLetters(nats).count == doomed.events.count
            }
            try probe.stack.waitForProcessed(1 + fresh.events.count, database, timeout: .seconds(30))
            try waitUntil(timeout: .seconds(15)) {
                let info = try feedback(); return info.ackPending == 0 && info.pending == 0
            }

            let letters = try probe.deadLetters(nats)
            let lettered = Set(letters.compactMap { $0.headers["Deadletter-Original-Msg-Id"] })
            let applied = Set(
                try database.query("SELECT event_id::text FROM processed_events").rows.map { try $0.string(0) })
            let published = Set(bodies.keys)
            #expect(lettered.count == letters.count, "one dead letter per message")
            #expect(lettered.isDisjoint(with: applied), "applied and dead-lettered")
            #expect(
                lettered.union(applied) == published, "in neither: \(published.subtracting(lettered.union(applied)))")
            #expect(lettered == Set(doomed.events.map { $0.eventID.uuidString.lowercased() }))
            for letter in letters {
                let id = letter.headers["Deadletter-Original-Msg-Id"] ?? "?"
                #expect(letter.body == bodies[id], "the original body, byte for byte")
                #expect(letter.headers["Deadletter-Reason"] == "max_deliveries")
                #expect(letter.headers["Deadletter-Deliveries"] == "2")
                #expect(letter.headers["Deadletter-Detail"]?.contains("max-deliveries advisory") == true)
            }
            // The state is exactly that of the applied events.
            var expected = workload
            expected.merge(fresh)
            #expect(try expected.stateMismatches(database) == [])
            #expect(try probe.health().counter("feedback", "dead_lettered") == doomed.events.count)
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }
}
