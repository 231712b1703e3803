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
    var rate = 2000
    var steadySeconds = 30
    var output = "bench/results/latest.json"
    /// Run only the scenarios whose key contains this (decode, raw, drain, scale-out, cluster, steady).
    var only: String?

    init(_ arguments: ArraySlice<String>) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--events": events = Int(iterator.next() ?? "") ?? events
            case "--batch-one-events": batchOneEvents = Int(iterator.next() ?? "") ?? batchOneEvents
            case "--rate": rate = Int(iterator.next() ?? "") ?? rate
            case "--steady-seconds": steadySeconds = Int(iterator.next() ?? "") ?? steadySeconds
            case "--out": output = iterator.next() ?? output
            case "--only": only = iterator.next()
            case "--quick":
                events = 10_000
                batchOneEvents = 2000
                steadySeconds = 5
            default:
                FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
                exit(2)
            }
        }
    }
}

enum Mix {
    /// 70% feedback.reward with inline features, 20% signals.decision, 10% feedback.routing.
    case inline
    /// The same, but the rewards join the decisions by decision_id.
    case joined
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
        func rate(_ subject: String, _ body: [UInt8]) -> Double {
            var best = 0.0
            for _ in 0..<3 {
                let count = 200_000
                let start = ContinuousClock.now
                var valid = 0
                for _ in 0..<count {
                    if case .success = decoder.decode(subject: subject, headers: [:], body: body, now: now) {
                        valid += 1
                    }
                }
                precondition(valid == count, "bench body must be valid")
                best = max(best, Double(count) / (ContinuousClock.now - start).seconds)
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
        try publishInChunks(
            connection, (0..<options.events).map { _ in NATSConnection.OutgoingMessage(subject: "raw.x", body: body) })
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
    func drain(
        name: String, mix: Mix, events count: Int, batchSize: Int, daemons: Int = 1, cluster: Bool = false
    ) throws -> DrainResult {
        let stack = try DaemonStack(bench: self, batchSize: batchSize, cluster: cluster)
        defer { stack.stop() }
        let events = EventMix.make(mix, count: count)
        try publishInChunks(stack.connection, events.map(EventMix.outgoing))
        let processes = try (0..<daemons).map { try stack.startDaemon(index: $0) }
        try waitUntil(timeout: .seconds(1800), poll: .milliseconds(200)) { stack.isDrained() }
        let peakRSS = processes.map { DaemonStack.peakRSSKiB(pid: $0.pid) }.max() ?? 0
        for daemon in processes { daemon.signal(SIGTERM) }
        for daemon in processes { _ = daemon.waitForExit(timeout: .seconds(30)) }
        let span = try stack.database.query(
            "SELECT extract(epoch FROM max(processed_at) - min(processed_at))::float8, count(*) FROM processed_events"
        ).rows[0]
        let seconds = try span.double(0)
        let applied = try span.int(1)
        let redelivered = stack.redeliveredCount()
        return DrainResult(
            name: name, events: applied, batchSize: batchSize, daemons: daemons, seconds: seconds,
            eventsPerSecond: Double(applied) / max(seconds, 0.001), peakRSSKiB: peakRSS, naks: redelivered,
            deadLettered: stack.deadLetterCount())
    }

    /// Publishes at a steady rate with occurred_at = publish time and measures publish-to-commit
    /// latency from the rows that keep occurred_at (decisions and routing outcomes).
    func steady(rate: Int, seconds: Int) throws -> SteadyResult {
        let stack = try DaemonStack(bench: self, batchSize: 256)
        defer { stack.stop() }
        let daemon = try stack.startDaemon()
        try waitUntil(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: stack.healthSocket) }
        Thread.sleep(forTimeInterval: 1)
        let total = rate * seconds
        let start = ContinuousClock.now
        let tick = 0.01  // publish in 10 ms slices
        var published = 0
        var index = 0
        while published < total {
            let due = min(total, Int((ContinuousClock.now - start).seconds * Double(rate)) + Int(Double(rate) * tick))
            if due > published {
                let slice = (published..<due).map { _ -> NATSConnection.OutgoingMessage in
                    index += 1
                    return EventMix.outgoing(EventMix.event(index: index, mix: .inline, now: Date()))
                }
                _ = try stack.connection.publishPipelined(slice)
                published = due
            }
            Thread.sleep(forTimeInterval: tick / 2)
        }
        let elapsed = (ContinuousClock.now - start).seconds
        try waitUntil(timeout: .seconds(120), poll: .milliseconds(100)) { stack.isDrained() }
        let peakRSS = DaemonStack.peakRSSKiB(pid: daemon.pid)
        daemon.signal(SIGTERM)
        _ = daemon.waitForExit(timeout: .seconds(30))
        let latency = try stack.database.query(
            """
            WITH l AS (
                SELECT extract(epoch FROM p.processed_at - d.occurred_at) * 1000 AS ms
                FROM processed_events p JOIN decisions d ON d.event_id = p.event_id
                UNION ALL
                SELECT extract(epoch FROM p.processed_at - r.occurred_at) * 1000
                FROM processed_events p JOIN routing_outcomes r ON r.event_id = p.event_id)
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::float8,
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::float8,
                   max(ms)::float8, count(*) FROM l
            """
        ).rows[0]
        return SteadyResult(
            rate: rate, seconds: seconds, published: published, achievedRate: Double(published) / elapsed,
            p50Milliseconds: try latency.double(0), p99Milliseconds: try latency.double(1),
            maxMilliseconds: try latency.double(2), sampled: try latency.int(3), peakRSSKiB: peakRSS)
    }

    func publishInChunks(_ connection: NATSConnection, _ messages: [NATSConnection.OutgoingMessage]) throws {
        var offset = 0
        while offset < messages.count {
            let end = min(messages.count, offset + 5000)
            _ = try connection.publishPipelined(Array(messages[offset..<end]), window: 1024, timeout: .seconds(30))
            offset = end
        }
    }
}

/// nats-server + a fresh database + `banditd streams ensure` / `migrate`, ready for `banditd run`.
final class DaemonStack {
    let nats: NATSServer?
    let cluster: NATSCluster?
    let connection: NATSConnection
    let database: PostgresConnection
    let directory: TemporaryDirectory
    let environment: [String: String]
    let healthSocket: String
    let binary: String

    init(bench: Bench, batchSize: Int, cluster useCluster: Bool = false) throws {
        binary = bench.daemonBinary
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
        let name = try bench.postgres.createDatabase()
        let url = bench.postgres.conninfo(database: name)
        database = try PostgresConnection(conninfo: url)
        directory = try TemporaryDirectory(prefix: "banditd-bench")
        healthSocket = directory.appending("health.sock")
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("NATS_") && !$0.key.hasPrefix("BANDITD_") && $0.key != "NOTIFY_SOCKET"
        }
        environment["NATS_URL"] = urls.joined(separator: ",")
        if useCluster { environment["NATS_STREAM_REPLICAS"] = "3" }
        environment["DATABASE_URL"] = url
        environment["BANDITD_HEALTH_SOCKET"] = healthSocket
        environment["BANDITD_BATCH_SIZE"] = String(batchSize)
        environment["BANDITD_MAX_WAIT_MS"] = "100"
        environment["NATS_MAX_ACK_PENDING"] = "20000"
        environment["LOG_LEVEL"] = "warning"
        self.environment = environment
        let log = directory.appending("cli.log")
        try ChildProcess.run(binary, arguments: ["migrate"], environment: environment, logFile: log)
        try ChildProcess.run(binary, arguments: ["streams", "ensure"], environment: environment, logFile: log)
    }

    func startDaemon(index: Int = 0) throws -> ChildProcess {
        var environment = self.environment
        if index > 0 { environment["BANDITD_HEALTH_SOCKET"] = directory.appending("health-\(index).sock") }
        return try ChildProcess(
            binary, arguments: ["run"], environment: environment, logFile: directory.appending("banditd-\(index).log"))
    }

    /// Both consumers have delivered everything and hold nothing unacknowledged.
    func isDrained() -> Bool {
        let infos = [("SIGNALS", "feature-pipeline-signals"), ("FEEDBACK", "feature-pipeline-feedback")].compactMap {
            try? connection.consumerInfo(stream: $0.0, consumer: $0.1)
        }
        return infos.count == 2 && infos.allSatisfy { $0.pending == 0 && $0.ackPending == 0 }
    }

    /// Messages on the DEADLETTER stream.
    func deadLetterCount() -> Int {
        Int((try? connection.streamInfo("DEADLETTER").state.messages) ?? 0)
    }

    func redeliveredCount() -> Int {
        ["SIGNALS": "feature-pipeline-signals", "FEEDBACK": "feature-pipeline-feedback"].reduce(0) { total, entry in
            total + ((try? connection.consumerInfo(stream: entry.key, consumer: entry.value).redelivered) ?? 0)
        }
    }

    func stop() {
        connection.close()
        database.close()
        nats?.stop()
        cluster?.stop()
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
