import BanditConfig
import BanditCore
import Foundation
import NATSKit
import PostgresKit
import TestServers

#if canImport(Glibc)
    import Glibc
#endif

struct BenchOptions {
    var events = 100_000
    var batchOneEvents = 10_000
    var rates = [2000, 10_000]
    var steadySeconds = 30
    /// BANDITD_WORKERS_PER_CONSUMER for the daemons (nil: the daemon's default).
    var workersPerConsumer: Int?
    /// BANDITD_APPLY_LANES for the daemons (nil: the daemon's default).
    var applyLanes: Int?
    /// The daemon's batch size (BANDITD_BATCH_SIZE); its own default unless `--batch`.
    var batchSize = ConfigurationSettings.default(for: \BanditdConfiguration.processing.batchSize)
    /// Extra PostgreSQL settings (`--postgres-setting name=value`), for experiments only: the
    /// reported numbers use PostgreSQL's durable defaults.
    var postgresSettings: [String: String] = [:]
    var output = "bench/results/latest.json"
    /// Run only the scenarios whose key contains this (decode, raw, drain, scale-out, cluster, steady,
    /// ledger-growth, retention-cost).
    var only: String?
    /// ledger-growth: the pre-grown ledger sizes, one headline drain after each.
    var ledgerRows = [0, 10_000_000, 50_000_000]
    /// retention-cost: the pre-grown ledger's size, and the share of it past the ledger retention.
    var retentionLedgerRows = 6_000_000
    var retentionOldShare = 0.5
    /// retention-cost: pairs of drains, without and with deletes, in the order A B B A A B …
    /// (so a drift of the machine's load over the runs weighs on both sides alike). Single
    /// two-daemon drains of 100,000 events on this 2-core VM varied by ±30 %, so a 10 % effect
    /// needs longer drains and more pairs than the other scenarios.
    var retentionPairs = 4
    /// retention-cost: events per drain.
    var retentionEvents = 300_000

    init(_ arguments: ArraySlice<String>) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--events": events = Int(iterator.next() ?? "") ?? events
            case "--batch-one-events": batchOneEvents = Int(iterator.next() ?? "") ?? batchOneEvents
            case "--rates":
                rates = (iterator.next() ?? "").split(separator: ",").compactMap { Int($0) }
            case "--steady-seconds": steadySeconds = Int(iterator.next() ?? "") ?? steadySeconds
            case "--out": output = iterator.next() ?? output
            case "--only": only = iterator.next()
            case "--workers": workersPerConsumer = Int(iterator.next() ?? "")
            case "--lanes": applyLanes = Int(iterator.next() ?? "")
            case "--batch": batchSize = Int(iterator.next() ?? "") ?? batchSize
            case "--ledger-rows":
                ledgerRows = (iterator.next() ?? "").split(separator: ",").compactMap { Self.count(String($0)) }
            case "--retention-ledger-rows":
                retentionLedgerRows = Self.count(iterator.next() ?? "") ?? retentionLedgerRows
            case "--retention-pairs": retentionPairs = max(1, Int(iterator.next() ?? "") ?? retentionPairs)
            case "--retention-events": retentionEvents = max(1, Int(iterator.next() ?? "") ?? retentionEvents)
            case "--retention-old-share":
                retentionOldShare = Double(iterator.next() ?? "").map { min(max($0, 0), 1) } ?? retentionOldShare
            case "--postgres-setting":
                let pair = (iterator.next() ?? "").split(separator: "=", maxSplits: 1).map(String.init)
                if pair.count == 2 { postgresSettings[pair[0]] = pair[1] }
            case "--quick":
                events = 10_000
                batchOneEvents = 2000
                steadySeconds = 5
                ledgerRows = [0, 1_000_000]
                retentionLedgerRows = 4_000_000
                retentionPairs = 1
                retentionEvents = 10_000
            default:
                FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
                exit(2)
            }
        }
    }

    /// A row count: digits with an optional `k` or `M` suffix (`10M`, `500k`).
    static func count(_ text: String) -> Int? {
        let multiplier = text.hasSuffix("M") ? 1_000_000 : text.hasSuffix("k") ? 1000 : 1
        let digits = multiplier == 1 ? text : String(text.dropLast())
        return Int(digits).map { $0 * multiplier }
    }
}

enum Mix: String, Codable {
    /// 70 % inline rewards over three policies and three sources, 20 % decisions, 10 % routing.
    case headline
    /// 45 % decisions, 45 % rewards joining them, 10 % routing.
    case join
    /// The headline mix with half of its decisions an hour old: past the shipped 600 s reward
    /// window, so the closing job closes them with the default reward while the backlog drains.
    case headlineHalfClosing = "headline-half-closing"
}

struct Bench {
    let postgres: PostgresServer
    let options: BenchOptions

    func wants(_ key: String) -> Bool { options.only.map { key.contains($0) } ?? true }

    /// `banditd` next to this executable.
    var daemonBinary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("banditd")
            .path
    }

    // MARK: Decode + validate

    func decodeSpeed() -> [String: Double] {
        let decoder = EventDecoder(policies: .defaults)
        let reward = Array(
            #"{"event_id":"6f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f","schema_version":1,"occurred_at":"2026-04-25T10:00:00.123456Z","user_id":"user-1234","source":"prod","reward":0.75,"policy":"linucb_v1","arm_id":"arm-7","features":[0.12,-0.5,1.25,0.003,-2.5]}"#
                .utf8)
        let routing = Array(
            #"{"event_id":"6f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f","schema_version":1,"occurred_at":"2026-04-25T10:00:00Z","user_id":"user-1234","inference_id":"0b9f3c1e-2d4a-4b6c-8e0f-1a2b3c4d5e6f","task_type":"code","task_type_source":"classifier","policy_version":"routing_v1@1.0.0+a3f9c2e1","model":"model-a","provider":"provider-x","constraint_band":"standard","reward":0.9,"latency_ms":812,"cost_usd":0.0031,"completed":true,"policy":"routing_v1","features":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]}"#
                .utf8)
        let now = Date(timeIntervalSince1970: 1_777_111_200)
        // Per core: events over this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so other
        // processes sharing the 2 cores do not count against the decoder; best of 5 runs.
        func threadCPUSeconds() -> Double {
            var spec = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
            return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
        }
        func rate(_ subject: String, _ body: [UInt8]) -> Double {
            var best = 0.0
            for _ in 0..<5 {
                let count = 200_000
                let start = threadCPUSeconds()
                var valid = 0
                for _ in 0..<count {
                    if case .success = decoder.decode(subject: subject, headers: [:], body: body, now: now) {
                        valid += 1
                    }
                }
                precondition(valid == count, "bench body must be valid")
                best = max(best, Double(count) / (threadCPUSeconds() - start))
            }
            return best
        }
        return [
            "feedback_reward_bytes": Double(reward.count),
            "feedback_reward_events_per_s": rate("feedback.reward", reward),
            "feedback_routing_bytes": Double(routing.count),
            "feedback_routing_events_per_s": rate("feedback.routing", routing),
        ]
    }

    // MARK: Raw limits

    /// Bare broker side: pull 256 + ack, no processing.
    func rawPullAck() throws -> [String: Double] {
        let nats = try NATSServer.start()
        defer { nats.stop() }
        let connection = try NATSConnection(options: NATSConnectionOptions(servers: [nats.url]))
        _ = try connection.createStream(StreamConfiguration(name: "RAW", subjects: ["raw.>"]))
        _ = try connection.createOrUpdateConsumer(
            stream: "RAW", ConsumerConfiguration(durableName: "raw", maxAckPending: 20_000))
        let body = Array(repeating: UInt8(ascii: "x"), count: 300)
        try connection.publishInChunks(
            (0..<options.events).map { _ in NATSConnection.OutgoingMessage(subject: "raw.x", body: body) })
        let consumer = try PullConsumer(connection: connection, stream: "RAW", consumer: "raw")
        let start = ContinuousClock.now
        var received = 0
        while received < options.events {
            let batch = try consumer.fetch(maxMessages: 256, maxWait: .seconds(1))
            for message in batch { try connection.ack(message) }
            received += batch.count
        }
        try connection.flush()
        return [
            "messages": Double(received), "messages_per_s": Double(received) / (ContinuousClock.now - start).seconds,
        ]
    }

    /// Bare database side: COPY of N ledger rows (psql \copy from a file).
    func rawCopy() throws -> [String: Double] {
        let database = try postgres.createDatabase()
        try postgres.psql(
            "CREATE TABLE copy_target (event_id uuid PRIMARY KEY, subject text, stream text, stream_seq bigint, processed_at timestamptz DEFAULT now())",
            database: database)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bench-copy-\(getpid()).csv").path
        let rows = (0..<options.events).map { "\(UUID().uuidString.lowercased()),feedback.reward,FEEDBACK,\($0)" }
        try rows.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        chmod(file, 0o644)
        let start = ContinuousClock.now
        try postgres.psql(
            "\\copy copy_target (event_id, subject, stream, stream_seq) FROM '\(file)' WITH (FORMAT csv)",
            database: database)
        return ["rows": Double(rows.count), "rows_per_s": Double(rows.count) / (ContinuousClock.now - start).seconds]
    }

    // MARK: The daemon

    /// Publishes a backlog, starts `banditd run`, and measures how fast it drains.
    /// `daemons` daemons share the consumers; `cluster` runs the 3-node cluster of
    /// deploy/nats-cluster.sh with R3 streams instead of one nats-server.
    /// `hooks` add a scenario's steps around the drain (a pre-grown ledger, a retention run
    /// under way) without changing the drain itself.
    func drain(
        name: String, mix: Mix, events count: Int, batchSize: Int, daemons: Int = 1, cluster: Bool = false,
        profile: Bool = false, hooks: any DrainHooks = NoDrainHooks()
    ) throws -> DrainResult {
        let stack = try DaemonStack(bench: self, batchSize: batchSize, cluster: cluster)
        defer { stack.stop() }
        try hooks.prepared(stack)
        let events = EventMix.make(mix, count: count)
        try stack.connection.publishInChunks(events.map(EventMix.outgoing))
        if profile { try stack.resetStatementStatistics() }
        try hooks.startingDaemons(stack)
        let before = try stack.databaseCounters()
        let cpuBefore = stack.cpuSeconds(daemons: [])
        let processes = try (0..<daemons).map { try stack.startDaemon(index: $0) }
        let started = ContinuousClock.now
        try waitUntil(timeout: .seconds(1800), poll: .milliseconds(100)) { stack.isDrained() }
        let wall = (ContinuousClock.now - started).seconds
        try hooks.drained(stack)
        let cpu = stack.cpuSeconds(daemons: processes).minus(cpuBefore)
        var closed: Int?
        if mix == .headlineHalfClosing {
            // Every decision past its window must be closed (the job runs every 5 s).
            let due = events.count { event in
                if case .decision(let decision) = event { return decision.occurredAt < Date().addingTimeInterval(-600) }
                return false
            }
            try? waitUntil(timeout: .seconds(60), poll: .milliseconds(200)) {
                (try? stack.database.query("SELECT count(*) FROM decisions WHERE reward_origin = 'default'").rows[0]
                    .int(0)) == due
            }
            closed = try stack.database.query("SELECT count(*) FROM decisions WHERE reward_origin = 'default'")
                .rows[0].int(0)
        }
        let peakRSS = processes.map { DaemonStack.peakRSSKiB(pid: $0.pid) }.max() ?? 0
        for daemon in processes { daemon.signal(SIGTERM) }
        for daemon in processes { _ = daemon.waitForExit(timeout: .seconds(30)) }
        // This drain's ledger rows only: a pre-grown ledger's rows were processed before it started.
        let span = try stack.database.query(
            """
            SELECT extract(epoch FROM max(pg_xact_commit_timestamp(xmin)) - min(pg_xact_commit_timestamp(xmin)))::float8,
                   count(*)
            FROM processed_events WHERE processed_at >= $1::timestamptz
            """, [before.serverTime]
        ).rows[0]
        let seconds = try span.double(0)
        let applied = try span.int(1)
        let after = try stack.databaseCounters()
        return DrainResult(
            name: name, mix: mix, events: applied, batchSize: batchSize, daemons: daemons, seconds: seconds,
            eventsPerSecond: Double(applied) / max(seconds, 0.001), peakRSSKiB: peakRSS,
            naks: stack.redeliveredCount(), deadLettered: stack.deadLetterCount(), wallSeconds: wall,
            cpuPercent: cpu.percent(of: wall),
            statements: profile ? try stack.statementStatistics() : [], decisionsClosedByDefault: closed,
            walBytes: try stack.walBytes(since: before.walPosition),
            ledgerHeapBlocksRead: after.ledgerHeapBlocksRead - before.ledgerHeapBlocksRead,
            ledgerIndexBlocksRead: after.ledgerIndexBlocksRead - before.ledgerIndexBlocksRead,
            ledgerIndexBlocksHit: after.ledgerIndexBlocksHit - before.ledgerIndexBlocksHit)
    }

    /// Publishes the headline mix at a steady rate and measures publish→commit latency of every
    /// event: from the wall-clock time its slice was handed to NATS to its transaction's commit
    /// timestamp (`pg_xact_commit_timestamp`, `track_commit_timestamp = on`). Samples the
    /// consumers' backlog (pending + ack pending) every second while publishing.
    func steady(rate: Int, seconds: Int) throws -> SteadyResult {
        let stack = try DaemonStack(bench: self, batchSize: options.batchSize)
        defer { stack.stop() }
        let daemon = try stack.startDaemon()
        try waitUntil(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: stack.healthSocket) }
        Thread.sleep(forTimeInterval: 1)
        let total = rate * seconds
        // Encoded before the clock starts: the publisher shares the two cores with the daemon and
        // both servers, and JSONEncoder per message would take a good part of one at 10,000/s.
        let prepared = EventMix.make(.headline, count: total).map { ($0.eventID, EventMix.outgoing($0)) }
        var publishedAt: [UUID: Double] = [:]
        publishedAt.reserveCapacity(total)
        var backlog: [Int] = []
        let start = ContinuousClock.now
        var lastSample = start
        let tick = 0.005  // publish in 5 ms slices
        var published = 0
        while published < total {
            let due = min(total, Int((ContinuousClock.now - start).seconds * Double(rate)) + 1)
            if due > published {
                let now = Date().timeIntervalSince1970
                let slice = prepared[published..<due].map { id, message -> NATSConnection.OutgoingMessage in
                    publishedAt[id] = now
                    return message
                }
                _ = try stack.connection.publishPipelined(slice)
                published = due
            }
            if ContinuousClock.now - lastSample >= .seconds(1) {
                backlog.append(stack.backlog())
                lastSample = ContinuousClock.now
            }
            Thread.sleep(forTimeInterval: tick / 2)
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let publishEnded = ContinuousClock.now
        try waitUntil(timeout: .seconds(300), poll: .milliseconds(20)) { stack.isDrained() }
        let drainAfter = (ContinuousClock.now - publishEnded).seconds
        let peakRSS = DaemonStack.peakRSSKiB(pid: daemon.pid)
        daemon.signal(SIGTERM)
        _ = daemon.waitForExit(timeout: .seconds(30))
        let rows = try stack.database.query(
            "SELECT event_id, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 FROM processed_events")
        var latencies: [Double] = []
        latencies.reserveCapacity(rows.rows.count)
        for row in rows.rows {
            guard let sent = publishedAt[try row.uuid(0)] else { continue }
            latencies.append((try row.double(1) - sent) * 1000)
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return .nan }
            return latencies[min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)]
        }
        let half = backlog.count / 2
        return SteadyResult(
            rate: rate, seconds: seconds, published: published, achievedRate: Double(published) / elapsed,
            p50Milliseconds: percentile(0.5), p99Milliseconds: percentile(0.99),
            maxMilliseconds: latencies.last ?? .nan, sampled: latencies.count, peakRSSKiB: peakRSS,
            backlogMaxFirstHalf: backlog.prefix(half).max() ?? 0,
            backlogMaxSecondHalf: backlog.suffix(from: half).max() ?? 0,
            drainAfterPublishSeconds: drainAfter)
    }
}

/// Steps a scenario adds around a drain; the drain itself stays the headline's.
protocol DrainHooks {
    /// The stack is up (database migrated, streams ensured); nothing is published yet.
    func prepared(_ stack: DaemonStack) throws
    /// The backlog is published; the daemons start next.
    func startingDaemons(_ stack: DaemonStack) throws
    /// Both consumers are drained; the daemons still run.
    func drained(_ stack: DaemonStack) throws
}

extension DrainHooks {
    func prepared(_ stack: DaemonStack) throws {}
    func startingDaemons(_ stack: DaemonStack) throws {}
    func drained(_ stack: DaemonStack) throws {}
}

struct NoDrainHooks: DrainHooks {}

/// nats-server + a fresh database + `banditd streams ensure` / `migrate`, ready for `banditd run`.
final class DaemonStack {
    let servers: NATSDeployment
    let connection: NATSConnection
    let database: PostgresConnection
    let directory: TemporaryDirectory
    let databaseName: String
    let environment: [String: String]
    let healthSocket: String
    let binary: String
    let postgresPID: @Sendable () throws -> Int32

    var nats: NATSServer? { servers.server }

    init(bench: Bench, batchSize: Int, cluster useCluster: Bool = false) throws {
        binary = bench.daemonBinary
        servers = try NATSDeployment.start(cluster: useCluster)
        connection = try NATSConnection(options: NATSConnectionOptions(servers: servers.urls))
        let name = try bench.postgres.createDatabase()
        databaseName = name
        let url = bench.postgres.conninfo(database: name)
        database = try PostgresConnection(conninfo: url)
        _ = try database.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        postgresPID = { try bench.postgres.serverPID() }
        directory = try TemporaryDirectory(prefix: "banditd-bench")
        healthSocket = directory.appending("health.sock")
        var settings = [
            "BANDITD_HEALTH_SOCKET": healthSocket, "BANDITD_BATCH_SIZE": String(batchSize),
            "BANDITD_MAX_WAIT_MS": "100",
            "LOG_LEVEL": "warning",
        ]
        if useCluster { settings["NATS_STREAM_REPLICAS"] = "3" }
        if let workers = bench.options.workersPerConsumer {
            settings["BANDITD_WORKERS_PER_CONSUMER"] = String(workers)
        }
        if let lanes = bench.options.applyLanes { settings["BANDITD_APPLY_LANES"] = String(lanes) }
        environment = DaemonEnvironment.make(natsURLs: servers.urls, databaseURL: url, settings)
        try DaemonEnvironment.prepare(binary: binary, environment: environment, logFile: directory.appending("cli.log"))
    }

    func startDaemon(index: Int = 0) throws -> ChildProcess {
        var environment = self.environment
        if index > 0 { environment["BANDITD_HEALTH_SOCKET"] = directory.appending("health-\(index).sock") }
        return try ChildProcess(
            binary, arguments: ["run"], environment: environment, logFile: directory.appending("banditd-\(index).log"))
    }

    /// Both consumers have delivered everything and hold nothing unacknowledged.
    func isDrained() -> Bool { connection.consumersAreDrained() }

    /// Messages not yet acknowledged on both consumers (pending + ack pending).
    func backlog() -> Int {
        connection.defaultConsumerInfos().reduce(0) { $0 + Int($1.pending) + $1.ackPending }
    }

    /// The server's clock, WAL position and the ledger's block counters (pg_statio_user_tables:
    /// "read" is a block not found in shared_buffers, from the OS page cache or the disk).
    struct DatabaseCounters {
        var serverTime: String
        var walPosition: String
        var ledgerHeapBlocksRead: Int
        var ledgerIndexBlocksRead: Int
        var ledgerIndexBlocksHit: Int
    }

    func databaseCounters() throws -> DatabaseCounters {
        let row = try database.query(
            """
            SELECT clock_timestamp()::text, pg_current_wal_lsn()::text, coalesce(heap_blks_read, 0),
                   coalesce(idx_blks_read, 0), coalesce(idx_blks_hit, 0)
            FROM pg_statio_user_tables WHERE relname = 'processed_events'
            """
        ).rows[0]
        return DatabaseCounters(
            serverTime: try row.string(0), walPosition: try row.string(1), ledgerHeapBlocksRead: try row.int(2),
            ledgerIndexBlocksRead: try row.int(3), ledgerIndexBlocksHit: try row.int(4))
    }

    /// WAL written since `position` (by every session: the daemons, and a retention run if one is on).
    func walBytes(since position: String) throws -> Int {
        try database.query("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint", [position]).rows[0]
            .int(0)
    }

    func resetStatementStatistics() throws {
        _ = try database.query("SELECT pg_stat_statements_reset()")
    }

    /// The statements of the run by total time (pg_stat_statements).
    func statementStatistics() throws -> [StatementStatistics] {
        try database.query(
            """
            SELECT calls, total_exec_time, mean_exec_time, rows, regexp_replace(left(query, 160), '\\s+', ' ', 'g')
            FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            ORDER BY total_exec_time DESC LIMIT 12
            """
        ).rows.map { row throws(PostgresError) in
            StatementStatistics(
                calls: try row.int(0), totalMilliseconds: try row.double(1), meanMilliseconds: try row.double(2),
                rows: try row.int(3), query: try row.string(4))
        }
    }

    /// CPU seconds (user + system) of the daemons, nats-server and every PostgreSQL process.
    func cpuSeconds(daemons: [ChildProcess]) -> CPUSeconds {
        CPUSeconds(
            daemon: daemons.reduce(0) { $0 + ProcessCPU.seconds(pid: $1.pid) },
            natsServer: nats?.pid.map { ProcessCPU.seconds(pid: $0) } ?? 0,
            postgres: (try? postgresPID()).map { ProcessCPU.treeSeconds(root: $0) } ?? 0)
    }

    /// Messages on the DEADLETTER stream.
    func deadLetterCount() -> Int {
        Int((try? connection.streamInfo("DEADLETTER").state.messages) ?? 0)
    }

    func redeliveredCount() -> Int {
        connection.defaultConsumerInfos().reduce(0) { $0 + $1.redelivered }
    }

    func stop() {
        connection.close()
        database.close()
        servers.stop()
        directory.remove()
    }

    /// VmHWM of a live process, in KiB.
    static func peakRSSKiB(pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
