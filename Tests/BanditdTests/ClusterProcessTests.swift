import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// `deploy/nats-cluster.sh` starts the 3-node cluster of `deploy/nats-cluster/`; on it
/// `NATS_STREAM_REPLICAS=3 banditd streams ensure` creates R3 streams and the daemon consumes.
/// Uses the cluster's fixed loopback ports (4231-4233, 6231-6233, 8231-8233).
@Suite(.postgresServer, .serialized)
struct ClusterProcessTests {
    static let urls = NATSCluster.urls.joined(separator: ",")

    @Test func theClusterScriptStartsThreeNodesWhereStreamsEnsureCreatesR3StreamsThatTheDaemonConsumes() async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let cluster = try NATSCluster()
            defer { cluster.stop() }
            let directory = cluster.directory
            var environment = cluster.environment
            #expect(cluster.startOutput.contains("JetStream meta leader: n"))
            let status = try cluster.script("status")
            #expect(status.split(separator: "\n").filter { $0.contains(" running (pid ") }.count == 3)

            environment["NATS_URL"] = Self.urls
            environment["NATS_STREAM_REPLICAS"] = "3"
            environment["DATABASE_URL"] =
                "postgresql://postgres@127.0.0.1:\(postgres.port)/\(try postgres.createDatabase())"
            let ensure = try ChildProcess.run(
                DaemonProcessTests.binary, arguments: ["streams", "ensure"], environment: environment,
                logFile: directory.appending("ensure.log"))
            #expect(ensure.contains("stream FEEDBACK: created"))
            let nats = try NATSConnection(
                options: NATSConnectionOptions(servers: Self.urls.split(separator: ",").map(String.init)))
            for stream in ["SIGNALS", "FEEDBACK", "DEADLETTER"] {
                let info = try nats.streamInfo(stream)
                #expect(info.config.replicas == 3, "\(stream)")
                #expect(info.cluster?.leader != nil, "\(stream)")
            }

            // The daemon on the cluster: a publish is acknowledged once a majority stored it, and
            // every event is applied once.
            let notify = try NotifySocket(directory: directory.path)
            defer { notify.close() }
            environment["BANDITD_HEALTH_SOCKET"] = directory.appending("health.sock")
            environment["BANDITD_MAX_WAIT_MS"] = "100"
            environment["NOTIFY_SOCKET"] = notify.path
            let daemon = try ChildProcess(
                DaemonProcessTests.binary, arguments: ["run"], environment: environment,
                logFile: directory.appending("daemon.log"))
            defer { daemon.stop() }
            try waitUntil(timeout: .seconds(30)) { notify.lines.contains("READY=1") }
            let total = 2_000
            var messages: [NATSConnection.OutgoingMessage] = []
            for index in 0..<total {
                let event = try OperationsStack.inlineReward(
                    user: "u\(index % 10)", policy: "linucb_v1", arm: "a\(index % 3)",
                    features: [0.1, 0.2, 0.3, 0.4, 0.5],
                    reward: 0.5)
                messages.append(
                    NATSConnection.OutgoingMessage(
                        subject: "feedback.reward", headers: ["Nats-Msg-Id": event.id.uuidString], body: event.body))
            }
            let acks = try nats.publishPipelined(messages)
            #expect(acks.allSatisfy { $0.stream == "FEEDBACK" && !$0.duplicate })
            let database = try PostgresConnection(conninfo: environment["DATABASE_URL"]!)
            try waitUntil(timeout: .seconds(60), poll: .milliseconds(200)) {
                try database.query(
                    "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
                ).rows[0].int(0) == total
            }
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
            #expect(try database.query("SELECT sum(n) FROM bandit_state").rows[0].int(0) == total)
            let consumer = try nats.consumerInfo(stream: "FEEDBACK", consumer: "feature-pipeline-feedback")
            #expect(consumer.pending == 0 && consumer.ackPending == 0)
            nats.close()
        }
    }
}
