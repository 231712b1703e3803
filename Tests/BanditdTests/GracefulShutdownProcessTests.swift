import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// SIGTERM while the real daemon drains a large backlog: it stops within the grace, leaves
/// nothing it fetched unsettled, and a restart applies everything exactly once.
@Suite(.postgresServer, .serialized)
struct GracefulShutdownProcessTests {
    @Test func sigtermMidDrainSettlesEverythingFetchedAndARestartAppliesEachEventOnce() async throws {
        try await OperationsStack.with { stack in
            let grace = 10.0
            let config = stack.directory.appending("grace.json")
            try #"{"processing": {"shutdown_grace_s": \#(Int(grace)), "batch_size": 128, "workers_per_consumer": 2}}"#
                .write(
                    toFile: config, atomically: true, encoding: .utf8)
            _ = try stack.command(["streams", "ensure"])
            let nats = try stack.connectNATS()
            let total = 20_000
            var expectedRewardSum = 0.0
            var messages: [NATSConnection.OutgoingMessage] = []
            for index in 0..<total {
                let reward = Double(index % 11) / 10 - 0.5
                expectedRewardSum += reward
                let event = try OperationsStack.inlineReward(
                    user: "u\(index % 30)", policy: "linucb_v1", arm: "a\(index % 6)",
                    features: [0.2, -0.1, 0.3, Double(index % 5) / 5, 1], reward: reward)
                messages.append(
                    NATSConnection.OutgoingMessage(
                        subject: "feedback.reward", headers: ["Nats-Msg-Id": event.id.uuidString], body: event.body))
            }
            for start in stride(from: 0, to: total, by: 5000) {
                _ = try nats.publishPipelined(Array(messages[start..<min(total, start + 5000)]))
            }
            let database = try stack.connectDatabase()
            func applied() throws -> Int {
                try database.query(
                    "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
                ).rows[0].int(0)
            }

            let daemon = try stack.startDaemon(arguments: ["--config", config], log: "drain1.log")
            try waitUntil(timeout: .seconds(60), poll: .milliseconds(20)) { try applied() >= 2_000 }
            let signalled = ContinuousClock.now
            daemon.signal(SIGTERM)
            let status = daemon.waitForExit(timeout: .seconds(grace + 10))
            let took = ContinuousClock.now - signalled
            #expect(status == 0)
            #expect(took < .seconds(grace), "shutdown took \(took)")
            #expect(stack.notify.lines.contains("STOPPING=1"))
            let appliedAtExit = try applied()
            #expect(appliedAtExit < total, "the backlog was drained before SIGTERM; the test proves nothing")
            #expect(daemon.log().contains(#""msg":"stopped""#))

            // Nothing the daemon fetched is left ack-pending, now or a moment later (a pull request
            // the server still held could otherwise deliver to a daemon that is gone), and what was
            // settled was acked: everything not applied is still pending for the consumer.
            for _ in 0..<2 {
                let info = try nats.consumerInfo(stream: "FEEDBACK", consumer: "feature-pipeline-feedback")
                #expect(info.ackPending == 0)
                #expect(info.pending == UInt64(total - appliedAtExit))
                Thread.sleep(forTimeInterval: 1)
            }

            let restarted = try stack.startDaemon(arguments: ["--config", config], log: "drain2.log", readyCount: 2)
            try waitUntil(timeout: .seconds(120), poll: .milliseconds(200)) { try applied() == total }
            restarted.signal(SIGTERM)
            #expect(restarted.waitForExit(timeout: .seconds(grace + 10)) == 0)
            #expect(try applied() == total)
            let sums = try database.query("SELECT sum(n), sum(reward_sum) FROM bandit_state").rows[0]
            #expect(try sums.int(0) == total)
            #expect(abs(try sums.double(1) - expectedRewardSum) <= 1e-6)
            #expect(try nats.streamInfo("DEADLETTER").state.messages == 0)
            let info = try nats.consumerInfo(stream: "FEEDBACK", consumer: "feature-pipeline-feedback")
            #expect(info.ackPending == 0 && info.pending == 0)
        }
    }
}
