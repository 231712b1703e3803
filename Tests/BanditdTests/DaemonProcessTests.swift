import BanditCore
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// The real `banditd` binary against real servers: startup, readiness, processing, shutdown.
@Suite(.postgresServer, .serialized)
struct DaemonProcessTests {
    /// `banditd`, next to the test bundle in the build folder.
    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("banditd")
            .path
    }

    private func withStack(_ body: @escaping @Sendable (OperationsStack) throws -> Void) async throws {
        try await OperationsStack.with(
            databasePassword: "Sup3rSecretPw", extraEnvironment: ["WATCHDOG_USEC": "2000000"], body)
    }

    /// The health JSON, whatever `banditd health`'s exit status (non-zero when not ok).
    private func health(_ stack: OperationsStack) -> String? {
        let output = try? ChildProcess.run(
            "/bin/sh", arguments: ["-c", "\"$0\" health --socket \"$1\"; true", Self.binary, stack.healthSocket],
            logFile: stack.directory.appending("health-\(UUID().uuidString).out"))
        return output?.isEmpty == false ? output : nil
    }

    @Test func theDaemonGetsReadyProcessesAndStopsCleanlyOnSIGTERM() async throws {
        try await withStack { stack in
            let log = stack.directory.appending("banditd.log")
            let daemon = try ChildProcess(Self.binary, arguments: ["run"], environment: stack.environment, logFile: log)
            try waitUntil(timeout: .seconds(30)) { stack.notify.lines.contains("READY=1") }
            let ready = try #require(health(stack))
            #expect(ready.contains(#""status":"ready""#))
            #expect(ready.contains(#""ok":true"#))

            // One event through the whole path.
            let nats = try NATSConnection(options: NATSConnectionOptions(servers: [stack.nats.url]))
            let event = Event.reward(
                try Reward(
                    eventID: UUID(), occurredAt: Date(), userID: "u1", reward: 1,
                    target: .inline(policy: "linucb_v1", armID: "a1", features: [0.1, 0.2, 0.3, 0.4, 0.5])))
            try nats.publish(subject: "feedback.reward", body: Array(try JSONEncoder().encode(event)))
            let database = try PostgresConnection(conninfo: stack.databaseURL)
            try waitUntil(timeout: .seconds(20)) {
                try database.query(
                    "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
                ).rows[0].int(0) == 1
            }
            try waitUntil(timeout: .seconds(10)) { health(stack)?.contains(#""processed":1"#) == true }
            // The watchdog is fed while the loops make progress (WATCHDOG_USEC 2 s → every 1 s).
            try waitUntil(timeout: .seconds(10)) { stack.notify.lines.filter { $0 == "WATCHDOG=1" }.count >= 2 }

            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
            let lines = stack.notify.lines
            let readyIndex = try #require(lines.firstIndex(of: "READY=1"))
            let stoppingIndex = try #require(lines.firstIndex(of: "STOPPING=1"))
            #expect(readyIndex < stoppingIndex)
            #expect(lines.contains { $0.hasPrefix("STATUS=") })
            #expect(!FileManager.default.fileExists(atPath: stack.healthSocket))

            // Logs: one JSON object per line, and never the database password.
            let output = daemon.log()
            #expect(!output.contains("Sup3rSecretPw"))
            let logLines = output.split(separator: "\n")
            #expect(logLines.contains { $0.contains(#""msg":"ready""#) })
            for line in logLines {
                #expect(
                    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "not JSON: \(line)")
            }
        }
    }

    @Test func aDaemonKilledWithSIGKILLAgainAndAgainAppliesEveryEventExactlyOnce() async throws {
        try await withStack { stack in
            var environment = stack.environment
            environment["NATS_ACK_WAIT_S"] = "2"  // unacked messages of a killed daemon come back fast
            environment["BANDITD_BATCH_SIZE"] = "64"
            let nats = try NATSConnection(options: NATSConnectionOptions(servers: [stack.nats.url]))
            let total = 20_000
            var expectedRewardSums: [String: Double] = [:]
            var messages: [NATSConnection.OutgoingMessage] = []
            for index in 0..<total {
                let user = "u\(index % 40)"
                let arm = "a\(index % 5)"
                let reward = Double(index % 7) / 10
                expectedRewardSums["\(user)/\(arm)", default: 0] += reward
                let event = Event.reward(
                    try Reward(
                        eventID: UUID(), occurredAt: Date(), userID: user, reward: reward,
                        target: .inline(
                            policy: "linucb_v1", armID: arm, features: [0.1, -0.2, 0.3, 0.4, Double(index % 3)])))
                messages.append(
                    NATSConnection.OutgoingMessage(
                        subject: "feedback.reward", headers: ["Nats-Msg-Id": event.eventID.uuidString],
                        body: Array(try JSONEncoder().encode(event))))
            }
            let database = try PostgresConnection(conninfo: stack.databaseURL)
            func applied() throws -> Int {
                try database.query(
                    "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
                ).rows[0].int(0)
            }
            // The first daemon creates the streams; the backlog is published while it runs.
            var daemon = try ChildProcess(
                Self.binary, arguments: ["run"], environment: environment, logFile: stack.directory.appending("k0.log"))
            try waitUntil(timeout: .seconds(30)) { stack.notify.lines.contains("READY=1") }
            for start in stride(from: 0, to: total, by: 5000) {
                _ = try nats.publishPipelined(Array(messages[start..<min(total, start + 5000)]))
            }
            var kills = 0
            while kills < 5 {
                Thread.sleep(forTimeInterval: Double.random(in: 0.05...0.4))
                daemon.signal(SIGKILL)
                _ = daemon.waitForExit(timeout: .seconds(10))
                kills += 1
                daemon = try ChildProcess(
                    Self.binary, arguments: ["run"], environment: environment,
                    logFile: stack.directory.appending("k\(kills).log"))
            }
            try waitUntil(timeout: .seconds(120), poll: .milliseconds(200)) { try applied() == total }
            // Let redeliveries of the killed daemons' last batches arrive: they must change nothing.
            Thread.sleep(forTimeInterval: 3)
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
            #expect(try applied() == total)
            #expect(try database.query("SELECT sum(n) FROM bandit_state").rows[0].int(0) == total)
            for row in try database.query("SELECT user_id, arm_id, reward_sum FROM bandit_state").rows {
                let expected = try #require(expectedRewardSums["\(try row.string(0))/\(try row.string(1))"])
                #expect(abs(try row.double(2) - expected) <= 1e-9 * max(1, expected))
            }
            #expect(try nats.streamInfo("DEADLETTER").state.messages == 0)
        }
    }

    @Test func twoDaemonsOnTheSameConsumersApplyEveryEventOnce() async throws {
        try await withStack { stack in
            let nats = try NATSConnection(options: NATSConnectionOptions(servers: [stack.nats.url]))
            let first = try ChildProcess(
                Self.binary, arguments: ["run"], environment: stack.environment,
                logFile: stack.directory.appending("d1.log"))
            try waitUntil(timeout: .seconds(30)) { stack.notify.lines.contains("READY=1") }
            var second = stack.environment
            second["BANDITD_HEALTH_SOCKET"] = stack.directory.appending("health2.sock")
            let other = try ChildProcess(
                Self.binary, arguments: ["run"], environment: second, logFile: stack.directory.appending("d2.log"))
            try waitUntil(timeout: .seconds(30)) { stack.notify.lines.filter { $0 == "READY=1" }.count == 2 }
            let total = 20_000
            var expectedRewardSum = 0.0
            var messages: [NATSConnection.OutgoingMessage] = []
            for index in 0..<total {
                let reward = Double(index % 9) / 10
                expectedRewardSum += reward
                let event = Event.reward(
                    try Reward(
                        eventID: UUID(), occurredAt: Date(), userID: "u\(index % 25)", reward: reward,
                        target: .inline(
                            policy: "linucb_v1", armID: "a\(index % 4)", features: [0.5, 0.1, -0.1, 0.2, 0.3])))
                messages.append(
                    NATSConnection.OutgoingMessage(
                        subject: "feedback.reward", headers: ["Nats-Msg-Id": event.eventID.uuidString],
                        body: Array(try JSONEncoder().encode(event))))
            }
            for start in stride(from: 0, to: total, by: 5000) {
                _ = try nats.publishPipelined(Array(messages[start..<min(total, start + 5000)]))
            }
            let database = try PostgresConnection(conninfo: stack.databaseURL)
            try waitUntil(timeout: .seconds(120), poll: .milliseconds(200)) {
                try database.query(
                    "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
                ).rows[0].int(0) == total
            }
            // Both took part (the health JSON counts what each processed).
            func processed(_ socket: String) throws -> Int {
                let json = try ChildProcess.run(
                    Self.binary, arguments: ["health", "--socket", socket], logFile: stack.directory.appending("h.out"))
                let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
                let consumers = (object?["nats"] as? [String: Any])?["consumers"] as? [String: Any]
                return (consumers?["feedback"] as? [String: Any])?["processed"] as? Int ?? -1
            }
            let counts = [try processed(stack.healthSocket), try processed(second["BANDITD_HEALTH_SOCKET"]!)]
            #expect(counts.allSatisfy { $0 > 0 })
            #expect(counts.reduce(0, +) >= total)
            first.signal(SIGTERM)
            other.signal(SIGTERM)
            #expect(first.waitForExit(timeout: .seconds(30)) == 0)
            #expect(other.waitForExit(timeout: .seconds(30)) == 0)
            let sums = try database.query("SELECT sum(n), sum(reward_sum) FROM bandit_state").rows[0]
            #expect(try sums.int(0) == total)
            #expect(abs(try sums.double(1) - expectedRewardSum) <= 1e-6)
        }
    }

    @Test func healthIsDegradedWhileNATSOrPostgreSQLIsUnreachableAndReadyAgainAfter() async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await withStack { stack in
            let daemon = try ChildProcess(
                Self.binary, arguments: ["run"], environment: stack.environment,
                logFile: stack.directory.appending("dg.log"))
            try waitUntil(timeout: .seconds(30)) { health(stack)?.contains(#""status":"ready""#) == true }

            stack.nats.kill()
            try waitUntil(timeout: .seconds(20)) { health(stack)?.contains(#""status":"degraded""#) == true }
            #expect(health(stack)?.contains(#""nats":{"connected":false"#) == true)
            #expect(health(stack)?.contains(#""ok":false"#) == true)
            try stack.nats.start()
            try waitUntil(timeout: .seconds(30)) { health(stack)?.contains(#""status":"ready""#) == true }

            let database = String(stack.databaseURL.split(separator: "/").last!)
            try postgres.psql("ALTER DATABASE \(database) ALLOW_CONNECTIONS false")
            try postgres.terminateBackends(database: database)
            try waitUntil(timeout: .seconds(20)) { health(stack)?.contains(#""postgres":{"connected":false}"#) == true }
            #expect(health(stack)?.contains(#""status":"degraded""#) == true)
            try postgres.psql("ALTER DATABASE \(database) ALLOW_CONNECTIONS true")
            try waitUntil(timeout: .seconds(20)) { health(stack)?.contains(#""status":"ready""#) == true }
            #expect(stack.notify.lines.contains { $0.hasPrefix("STATUS=degraded") })

            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    @Test func aBadConfigurationValueExitsWith78NamingTheKey() async throws {
        try await withStack { stack in
            var environment = stack.environment
            environment["NATS_MAX_DELIVER"] = "zero"
            let daemon = try ChildProcess(
                Self.binary, arguments: ["run"], environment: environment, logFile: stack.directory.appending("bad.log")
            )
            #expect(daemon.waitForExit(timeout: .seconds(20)) == 78)
            #expect(daemon.log().contains("NATS_MAX_DELIVER"))
        }
    }

    @Test func aSecondDaemonRefusesToTakeOverALiveHealthSocket() async throws {
        try await withStack { stack in
            let first = try ChildProcess(
                Self.binary, arguments: ["run"], environment: stack.environment,
                logFile: stack.directory.appending("1.log"))
            try waitUntil(timeout: .seconds(30)) { stack.notify.lines.contains("READY=1") }
            let second = try ChildProcess(
                Self.binary, arguments: ["run"], environment: stack.environment,
                logFile: stack.directory.appending("2.log"))
            #expect(second.waitForExit(timeout: .seconds(20)) != 0)
            #expect(health(stack)?.contains(#""ok":true"#) == true)
            first.signal(SIGTERM)
            #expect(first.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    @Test func streamsEnsureAndMigrateWorkFromTheCommandLine() async throws {
        try await withStack { stack in
            let out = stack.directory.appending("cli.log")
            let migrate = try ChildProcess.run(
                Self.binary, arguments: ["migrate"], environment: stack.environment, logFile: out)
            #expect(migrate.contains("applied migration 1"))
            let again = try ChildProcess.run(
                Self.binary, arguments: ["migrate"], environment: stack.environment, logFile: out)
            #expect(again.contains("up to date"))
            let ensure = try ChildProcess.run(
                Self.binary, arguments: ["streams", "ensure"], environment: stack.environment, logFile: out)
            #expect(ensure.contains("consumer feature-pipeline-signals: created"))
            var other = stack.environment
            other["NATS_MAX_DELIVER"] = "9"
            #expect(throws: (any Error).self) {
                try ChildProcess.run(Self.binary, arguments: ["streams", "ensure"], environment: other, logFile: out)
            }
            #expect(ChildProcessOutput.read(out).contains("max_deliver is 5, expected 9"))
        }
    }
}

enum ChildProcessOutput {
    static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}
