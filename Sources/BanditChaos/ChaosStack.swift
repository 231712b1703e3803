import Foundation
import NATSKit
import PostgresKit
import TestServers

#if canImport(Glibc)
    import Glibc
#endif

/// `banditd` next to this executable.
let daemonBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    .appendingPathComponent("banditd").path

struct ChaosError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One scenario's servers, database and daemons.
final class ChaosStack {
    let postgres: PostgresServer
    let nats: NATSServer?
    let cluster: NATSCluster?
    let connection: NATSConnection
    let databaseName: String
    let directory: TemporaryDirectory
    let environment: [String: String]
    private(set) var daemons: [ChildProcess?] = []
    private var database: PostgresConnection?

    init(postgres: PostgresServer, cluster useCluster: Bool = false, extraEnvironment: [String: String] = [:]) throws {
        self.postgres = postgres
        let urls: [String]
        if useCluster {
            cluster = try NATSCluster()
            nats = nil
            urls = NATSCluster.urls
        } else {
            let server = try NATSServer.start()
            nats = server
            cluster = nil
            urls = [server.url]
        }
        connection = try NATSConnection(options: NATSConnectionOptions(servers: urls))
        databaseName = try postgres.createDatabase()
        directory = try TemporaryDirectory(prefix: "banditd-chaos")
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("NATS_") && !$0.key.hasPrefix("BANDITD_") && $0.key != "NOTIFY_SOCKET"
        }
        environment["NATS_URL"] = urls.joined(separator: ",")
        environment["DATABASE_URL"] = postgres.conninfo(database: databaseName)
        environment["BANDITD_BATCH_SIZE"] = "256"
        environment["BANDITD_MAX_WAIT_MS"] = "100"
        environment["NATS_MAX_ACK_PENDING"] = "20000"
        environment["NATS_ACK_WAIT_S"] = "5"
        environment["LOG_LEVEL"] = "warning"
        if useCluster { environment["NATS_STREAM_REPLICAS"] = "3" }
        environment.merge(extraEnvironment) { $1 }
        self.environment = environment
        let log = directory.appending("cli.log")
        try ChildProcess.run(daemonBinary, arguments: ["migrate"], environment: environment, logFile: log)
        try ChildProcess.run(daemonBinary, arguments: ["streams", "ensure"], environment: environment, logFile: log)
    }

    /// Starts daemon `index` (or restarts it after a kill).
    func startDaemon(_ index: Int = 0) throws {
        while daemons.count <= index { daemons.append(nil) }
        var environment = self.environment
        environment["BANDITD_HEALTH_SOCKET"] = directory.appending("health-\(index).sock")
        daemons[index] = try ChildProcess(
            daemonBinary, arguments: ["run"], environment: environment,
            logFile: directory.appending("banditd-\(index).log"))
    }

    func killDaemon(_ index: Int, signal: Int32 = SIGKILL) {
        guard index < daemons.count, let daemon = daemons[index] else { return }
        daemon.signal(signal)
        _ = daemon.waitForExit(timeout: .seconds(30))
        daemons[index] = nil
    }

    func stopDaemons() {
        for index in daemons.indices { killDaemon(index, signal: SIGTERM) }
    }

    /// A query on a connection that is reopened after a failure (the server may have restarted).
    func query(_ sql: SQL) throws -> PostgresRows {
        do {
            if database == nil {
                database = try PostgresConnection(conninfo: postgres.conninfo(database: databaseName))
            }
            return try database!.query(sql)
        } catch {
            database?.close()
            database = nil
            throw error
        }
    }

    func processedCount() -> Int {
        (try? query(
            "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
        ).rows[0].int(0)) ?? -1
    }

    func publish(_ messages: [NATSConnection.OutgoingMessage]) throws {
        var offset = 0
        while offset < messages.count {
            let end = min(messages.count, offset + 5000)
            _ = try connection.publishPipelined(Array(messages[offset..<end]), window: 1024, timeout: .seconds(30))
            offset = end
        }
    }

    /// Both consumers have delivered everything and hold nothing unacknowledged.
    func isDrained() -> Bool {
        let infos = [("SIGNALS", "feature-pipeline-signals"), ("FEEDBACK", "feature-pipeline-feedback")].compactMap {
            try? connection.consumerInfo(stream: $0.0, consumer: $0.1)
        }
        return infos.count == 2 && infos.allSatisfy { $0.pending == 0 && $0.ackPending == 0 }
    }

    func redelivered() -> Int {
        ["SIGNALS": "feature-pipeline-signals", "FEEDBACK": "feature-pipeline-feedback"].reduce(0) { total, entry in
            total + ((try? connection.consumerInfo(stream: entry.key, consumer: entry.value).redelivered) ?? 0)
        }
    }

    /// Waits until the set is applied and dead-lettered, and the consumers are drained.
    func waitForDrain(_ set: ChaosEventSet, timeout: Duration) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if processedCount() >= set.validEventIDs.count,
                (try? connection.streamInfo("DEADLETTER").state.messages) ?? 0 >= UInt64(set.invalidBodies.count),
                isDrained()
            {
                return
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    /// Waits until at least `count` events are applied (or `timeout`).
    func waitForProcessed(atLeast count: Int, timeout: Duration = .seconds(300)) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, processedCount() < count { Thread.sleep(forTimeInterval: 0.02) }
    }

    func stop() {
        stopDaemons()
        database?.close()
        connection.close()
        nats?.stop()
        cluster?.stop()
        directory.remove()
    }
}
