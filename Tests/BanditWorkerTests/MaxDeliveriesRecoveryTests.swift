import BanditCore
import BanditStore
import BanditTopology
import BanditWorker
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// CONTRACT section 3 (v1.1): a message whose deliveries run out while no daemon processes it is
/// dead-lettered all the same, from the server's max-deliveries advisory.
@Suite(.postgresServer, .serialized)
struct MaxDeliveriesRecoveryTests {
    @Test func aMessageWhoseDeliveriesRanOutUnseenIsDeadLetteredFromTheAdvisory() async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let harness = try PipelineHarness(postgres: postgres, maxDeliver: 2, ackWait: .seconds(1))
            defer { harness.stop() }
            let reward = EventFactory.inlineReward(user: "u1", arm: "a1", reward: 0.5)
            let body = PipelineHarness.encode(reward)
            try harness.publishRaw(subject: "feedback.reward", body: body, msgID: "producer-1")
            // Two deliveries, neither settled: the server gives up and says so in an advisory.
            try harness.exhaustDeliveries("feedback", times: 2)
            // A daemon comes back: its next pull makes the server notice the deliveries ran out.
            let workers = try harness.startWorkers()
            harness.startRecovery(in: workers)
            let letters = try harness.deadLetters(expecting: 1)
            workers.stop()
            let letter = try #require(letters.first)
            #expect(letters.count == 1)
            #expect(letter.body == body)
            #expect(letter.headers["Deadletter-Reason"] == "max_deliveries")
            #expect(letter.headers["Deadletter-Detail"]?.contains("max-deliveries advisory") == true)
            #expect(letter.headers["Deadletter-Stream"] == "FEEDBACK")
            #expect(letter.headers["Deadletter-Seq"] == "1")
            #expect(letter.headers["Deadletter-Deliveries"] == "2")
            #expect(letter.headers["Nats-Msg-Id"] == "dl-FEEDBACK-1")
            #expect(letter.headers["Deadletter-Original-Msg-Id"] == "producer-1")
            #expect(workers.observer.counts.withLock { $0.deadLettered } == [.maxDeliveries])
            // The advisory was handled: the capture stream (a work queue) is empty.
            let captured = try harness.connection.streamInfo(
                StreamTopology.maxDeliveriesStream(durablePrefix: PipelineHarness.prefix))
            #expect(captured.state.messages == 0)
        }
    }

    @Test func aMessageWhoseEventWasAppliedIsNotDeadLetteredWhenItsDeliveriesRunOut() async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let harness = try PipelineHarness(postgres: postgres, maxDeliver: 2, ackWait: .seconds(1))
            defer { harness.stop() }
            let reward = EventFactory.inlineReward(user: "u1", arm: "a1", reward: 0.5)
            try harness.publish(reward)
            // Applied (committed) by a daemon that died before its ack reached the server.
            let database = try PostgresConnection(conninfo: harness.conninfo)
            try database.query(
                "INSERT INTO processed_events (event_id, subject, stream, stream_seq) VALUES ($1, 'feedback.reward', 'FEEDBACK', 1)",
                [reward.eventID.uuidString])
            try harness.exhaustDeliveries("feedback", times: 2)
            let workers = try harness.startWorkers()
            harness.startRecovery(in: workers)
            // The advisory came and was handled (acked, so the work-queue stream dropped it).
            let recovery = StreamTopology.maxDeliveriesStream(durablePrefix: PipelineHarness.prefix)
            try waitUntil(timeout: .seconds(20)) {
                try harness.connection.consumerInfo(
                    stream: recovery, consumer: "\(PipelineHarness.prefix)-max-deliveries"
                )
                .ackFloor.streamSequence == 1
            }
            #expect(try harness.connection.streamInfo(recovery).state.messages == 0)
            workers.stop()
            #expect(try harness.connection.streamInfo("DEADLETTER").state.messages == 0)
        }
    }
}
