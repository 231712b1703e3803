import BanditCore
import Foundation
import NATSKit
import PostgresKit
import TestSupport

/// Servers, folders and sockets for one operations test of the real `banditd` binary: a NATS
/// server of its own, a database on the suite's PostgreSQL, a notify socket, a health socket.
struct OperationsStack {
    let nats: NATSServer
    let directory: TemporaryDirectory
    let databaseURL: String
    let healthSocket: String
    let notify: NotifySocket
    /// Set on top of the stack's own variables.
    var extraEnvironment: [String: String] = [:]

    static var binary: String { DaemonProcessTests.binary }

    var environment: [String: String] {
        DaemonEnvironment.make(
            natsURLs: [nats.url], databaseURL: databaseURL,
            [
                "BANDITD_HEALTH_SOCKET": healthSocket, "BANDITD_MAX_WAIT_MS": "100", "NOTIFY_SOCKET": notify.path,
                "LOG_LEVEL": "info",
            ].merging(extraEnvironment) { $1 })
    }

    /// - Parameters:
    ///   - databasePassword: put into `DATABASE_URL` (trust authentication ignores it), to prove
    ///     it is never logged.
    static func with(
        databasePassword: String? = nil, extraEnvironment: [String: String] = [:],
        _ body: @escaping @Sendable (OperationsStack) throws -> Void
    ) async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let directory = try TemporaryDirectory(prefix: "banditd-ops")
            let database = try postgres.createDatabase()
            let user = databasePassword.map { "postgres:\($0)" } ?? "postgres"
            let stack = OperationsStack(
                nats: try NATSServer.start(), directory: directory,
                databaseURL: "postgresql://\(user)@127.0.0.1:\(postgres.port)/\(database)",
                healthSocket: directory.appending("health.sock"), notify: try NotifySocket(directory: directory.path),
                extraEnvironment: extraEnvironment)
            defer {
                stack.notify.close()
                stack.nats.stop()
                directory.remove()
            }
            try body(stack)
        }
    }

    /// Starts `banditd run` and waits for its READY=1 (the `readyCount`-th one on this socket).
    func startDaemon(
        arguments: [String] = [], environment: [String: String]? = nil, log: String, readyCount: Int = 1
    ) throws -> ChildProcess {
        let daemon = try ChildProcess(
            Self.binary, arguments: ["run"] + arguments, environment: environment ?? self.environment,
            logFile: directory.appending(log))
        try waitUntil(timeout: .seconds(30)) {
            guard daemon.isRunning else { throw TestSupportError("banditd exited: \(daemon.log())") }
            return notify.lines.filter { $0 == "READY=1" }.count >= readyCount
        }
        return daemon
    }

    /// Runs a `banditd` command to completion and returns its output (stdout and stderr).
    func command(_ arguments: [String], log: String = "cli.log") throws -> String {
        try ChildProcess.run(
            Self.binary, arguments: arguments, environment: environment, logFile: directory.appending(log))
    }

    func connectNATS() throws -> NATSConnection {
        try NATSConnection(options: NATSConnectionOptions(servers: [nats.url]))
    }

    func connectDatabase() throws -> PostgresConnection {
        try PostgresConnection(conninfo: databaseURL)
    }

    static func inlineReward(
        user: String, policy: String, arm: String, features: [Double], reward: Double
    ) throws -> (id: UUID, body: [UInt8]) {
        let event = Event.reward(
            try Reward(
                eventID: UUID(), occurredAt: Date(), userID: user, reward: reward,
                target: .inline(policy: policy, armID: arm, features: features)))
        return (event.eventID, Array(try JSONEncoder().encode(event)))
    }
}
