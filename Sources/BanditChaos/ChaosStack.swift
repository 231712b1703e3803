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
    let servers: NATSDeployment
    let connection: NATSConnection
    let databaseName: String
    let directory: TemporaryDirectory
    let environment: [String: String]
    /// What a daemon is started with (a scenario may add `--config FILE`).
    var daemonArguments = ["run"]
    private(set) var daemons: [ChildProcess?] = []
    private var database: PostgresConnection?

    var nats: NATSServer? { servers.server }
    var cluster: NATSCluster? { servers.cluster }

    init(postgres: PostgresServer, cluster useCluster: Bool = false, extraEnvironment: [String: String] = [:]) throws {
        self.postgres = postgres
        servers = try NATSDeployment.start(cluster: useCluster)
        connection = try NATSConnection(options: NATSConnectionOptions(servers: servers.urls))
        databaseName = try postgres.createDatabase()
        directory = try TemporaryDirectory(prefix: "banditd-chaos")
        var settings = [
            "BANDITD_BATCH_SIZE": "256", "BANDITD_MAX_WAIT_MS": "100", "NATS_MAX_ACK_PENDING": "20000",
            "NATS_ACK_WAIT_S": "5", "LOG_LEVEL": "warning",
        ]
        if useCluster { settings["NATS_STREAM_REPLICAS"] = "3" }
        environment = DaemonEnvironment.make(
            natsURLs: servers.urls, databaseURL: postgres.conninfo(database: databaseName),
            settings.merging(extraEnvironment) { $1 })
        try DaemonEnvironment.prepare(
            binary: daemonBinary, environment: environment, logFile: directory.appending("cli.log"))
    }

    /// Starts daemon `index` (or restarts it after a kill).
    func startDaemon(_ index: Int = 0) throws {
        while daemons.count <= index { daemons.append(nil) }
        var environment = self.environment
        environment["BANDITD_HEALTH_SOCKET"] = healthSocket(ofDaemon: index)
        // Its PostgreSQL sessions are recognisable in pg_stat_activity.
        environment["DATABASE_URL"] =
            (environment["DATABASE_URL"] ?? "") + " application_name=\(applicationName(ofDaemon: index))"
        daemons[index] = try ChildProcess(
            daemonBinary, arguments: daemonArguments, environment: environment,
            logFile: directory.appending("banditd-\(index).log"))
    }

    func healthSocket(ofDaemon index: Int) -> String { directory.appending("health-\(index).sock") }

    /// The `application_name` of daemon `index`'s PostgreSQL sessions.
    func applicationName(ofDaemon index: Int) -> String { "banditd-chaos-\(index)" }

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
    func query(_ sql: SQL, _ binds: [String?] = []) throws -> PostgresRows {
        do {
            if database == nil {
                database = try PostgresConnection(conninfo: postgres.conninfo(database: databaseName))
            }
            return try database!.query(sql, binds)
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
        try connection.publishInChunks(messages)
    }

    /// Both consumers have delivered everything and hold nothing unacknowledged.
    func isDrained() -> Bool { connection.consumersAreDrained() }

    func redelivered() -> Int {
        connection.defaultConsumerInfos().reduce(0) { $0 + $1.redelivered }
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
        servers.stop()
        directory.remove()
    }
}
