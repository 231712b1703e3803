import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// CONTRACT section 10 through the real binary: stream limits tied to the ledger retention, and
/// the ledger's state in the health JSON.
@Suite(.postgresServer, .serialized)
struct LifecycleProcessTests {
    @Test func aStreamMaxAgeLongerThanTheLedgerRetentionMinusADayIsAConfigurationError() async throws {
        try await OperationsStack.with { stack in
            var environment = stack.environment
            environment["NATS_STREAM_MAX_AGE_S"] = String(14 * 86_400)  // the ledger keeps 14 days
            let daemon = try ChildProcess(
                OperationsStack.binary, arguments: ["run"], environment: environment,
                logFile: stack.directory.appending("daemon.log"))
            let status = daemon.waitForExit(timeout: .seconds(30))
            #expect(status == 78, "\(daemon.log())")
            let log = daemon.log()
            #expect(log.contains("nats.stream_max_age_s"))
            #expect(log.contains("lifecycle.ledger_retention_days"))
            #expect(log.contains("applied twice"))
        }
    }

    @Test func upgradingStreamsWithoutMaxAgeWithStreamsEnsureLosesNoMessageAndTheDaemonAppliesThem() async throws {
        try await OperationsStack.with { stack in
            let nats = try stack.connectNATS()
            defer { nats.close() }
            // An earlier release's streams: no max_age, a backlog waiting.
            for name in ["SIGNALS", "FEEDBACK", "DEADLETTER"] {
                let subject = name == "SIGNALS" ? "signals.>" : name == "FEEDBACK" ? "feedback.>" : "deadletter.>"
                _ = try nats.createStream(StreamConfiguration(name: name, subjects: [subject]))
            }
            let events = (0..<20).map { index in
                try! OperationsStack.inlineReward(
                    user: "u\(index)", policy: "linucb_v1", arm: "a", features: [0.1, 0.2, 0.3, 0.4, 0.5], reward: 0.5)
            }
            for event in events {
                try nats.publish(
                    subject: "feedback.reward", headers: ["Nats-Msg-Id": event.id.uuidString], body: event.body)
            }
            let ensure = try stack.command(["streams", "ensure"], log: "ensure.log")
            #expect(ensure.contains("stream FEEDBACK: updated (max_age unlimited → 604800 s)"), "\(ensure)")
            #expect(try nats.streamInfo("FEEDBACK").config.maxAge == .seconds(604_800))
            #expect(try nats.streamInfo("FEEDBACK").state.messages == 20)
            #expect(try nats.streamInfo("DEADLETTER").config.maxAge == .zero)
            let daemon = try stack.startDaemon(log: "daemon.log")
            defer { daemon.stop(timeout: .seconds(30)) }
            let database = try stack.connectDatabase()
            defer { database.close() }
            try stack.waitForProcessed(20, database)
            // The health JSON reports the ledger (read every 30 s, the first time at once).
            try waitUntil(timeout: .seconds(20)) {
                let health = try stack.command(["health", "--socket", stack.healthSocket], log: "health.log")
                return health.contains("\"ledger\":{\"rows_estimate\":")
            }
        }
    }
}
