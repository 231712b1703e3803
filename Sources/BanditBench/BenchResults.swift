import Foundation

struct DrainResult: Codable {
    var name: String
    var mix: Mix
    var events: Int
    var batchSize: Int
    /// Daemons sharing the consumers.
    var daemons: Int = 1
    /// First to last commit of the run (`pg_xact_commit_timestamp` of the ledger rows).
    var seconds: Double
    var eventsPerSecond: Double
    var peakRSSKiB: Int
    /// Redeliveries the consumers counted (naks, e.g. rewards that arrived before their decision).
    var naks: Int
    var deadLettered: Int
    /// From starting the daemon(s) to both consumers drained.
    var wallSeconds: Double
    /// CPU used over `wallSeconds`, in % of one core, per process group.
    var cpuPercent: CPUSeconds
    /// pg_stat_statements of the run, by total time (profiled runs only).
    var statements: [StatementStatistics]
    /// Decisions the closing job closed with the default reward (the closing scenario only).
    var decisionsClosedByDefault: Int?
    /// WAL written during the drain (all sessions; includes full-page images after checkpoints).
    var walBytes: Int?
    /// Ledger blocks not found in shared_buffers (from the OS page cache or the disk), and index
    /// blocks found there, during the drain (pg_statio_user_tables, all sessions).
    var ledgerHeapBlocksRead: Int?
    var ledgerIndexBlocksRead: Int?
    var ledgerIndexBlocksHit: Int?
}

/// The ledger's on-disk sizes, and the memory that could hold it, when a drain started.
struct LedgerSizes: Codable {
    var tableBytes: Int
    /// pg_indexes_size: both indexes.
    var indexesBytes: Int
    /// pg_total_relation_size: table, indexes, free space and visibility maps.
    var totalBytes: Int
    var primaryKeyBytes: Int
    var processedAtIndexBytes: Int
    var sharedBuffersBytes: Int
    var memory: MemoryInfo
}

struct LedgerGrowthResult: Codable {
    /// Rows in the ledger before the drain.
    var ledgerRows: Int
    var fill: LedgerFill.Timing
    var sizes: LedgerSizes
    var drain: DrainResult
}

/// What `retention_runs` said once the retention run was stopped at the drain's end.
struct RetentionRunRecord: Codable {
    var outcome = "none"
    var ledgerDeleted = 0
    var decisionsDeleted = 0
    /// From the run's start (before the backlog was published) to its stop.
    var seconds: Double?
}

struct RetentionCostRun: Codable {
    var deleting: Bool
    var drain: DrainResult
    /// Rows past retention at the drain's start minus at its end (0 without deletes).
    var ledgerRowsRemovedDuringDrain: Int
    /// The run was still deleting when the backlog was drained (it covered the whole drain).
    var retentionRunningAtDrainEnd: Bool
    var run: RetentionRunRecord
    var fill: LedgerFill.Timing
}

struct RetentionCostResult: Codable {
    var ledgerRows: Int
    /// Rows of the ledger past the ledger retention in the deleting runs.
    var pastRetention: Int
    /// The job's pacing (BanditStore `Retention` defaults).
    var sliceRows: Int
    var pauseMilliseconds: Int
    var backlogPauseMilliseconds: Int
    /// In the order they ran.
    var runs: [RetentionCostRun]
    var meanWithoutDeletes: Double
    var meanWithDeletes: Double
    /// How much slower the drain was with the deletes, in % of the means (issue 15's target: under 10).
    var dropPercent: Double
}

struct StatementStatistics: Codable {
    var calls: Int
    var totalMilliseconds: Double
    var meanMilliseconds: Double
    var rows: Int
    var query: String
}

struct SteadyResult: Codable {
    var rate: Int
    var seconds: Int
    var published: Int
    var achievedRate: Double
    var p50Milliseconds: Double
    var p99Milliseconds: Double
    var maxMilliseconds: Double
    var sampled: Int
    var peakRSSKiB: Int
    /// Largest backlog (pending + ack pending, both consumers) sampled in each half of the run:
    /// a sustained rate keeps the second no larger than the first.
    var backlogMaxFirstHalf: Int
    var backlogMaxSecondHalf: Int
    /// Time from the last publish to both consumers drained.
    var drainAfterPublishSeconds: Double

    /// Kept up: the backlog did not grow and was gone within a second of the last publish.
    var sustained: Bool {
        achievedRate >= Double(rate) * 0.97 && backlogMaxSecondHalf <= max(backlogMaxFirstHalf, rate / 10)
            && drainAfterPublishSeconds < 1
    }
}

/// CPU time (user + system) per process group.
struct CPUSeconds: Codable {
    var daemon: Double
    var natsServer: Double
    var postgres: Double

    func minus(_ other: CPUSeconds) -> CPUSeconds {
        CPUSeconds(
            daemon: daemon - other.daemon, natsServer: natsServer - other.natsServer,
            postgres: postgres - other.postgres)
    }

    /// As % of one core over `seconds` of wall time.
    func percent(of seconds: Double) -> CPUSeconds {
        let scale = 100 / max(seconds, 0.001)
        return CPUSeconds(daemon: daemon * scale, natsServer: natsServer * scale, postgres: postgres * scale)
    }
}

/// Reads CPU time from /proc (Linux).
enum ProcessCPU {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// utime + stime of one process, in seconds.
    static func seconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        // Fields after "(comm)": state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / ticksPerSecond
    }

    /// `root` and its children (PostgreSQL's postmaster and its backends), including the CPU of
    /// children that already exited (cutime + cstime of the root).
    static func treeSeconds(root: Int32) -> Double {
        var total = seconds(pid: root) + exitedChildrenSeconds(pid: root)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry), pid != root,
                let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, Int32(fields[1]) == root { total += seconds(pid: pid) }
        }
        return total
    }

    private static func exitedChildrenSeconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 15, let user = Double(fields[13]), let system = Double(fields[14]) else { return 0 }
        return (user + system) / ticksPerSecond
    }
}

struct MachineInfo: Codable {
    var cores: Int
    var date: String
    var natsServer: String
    var postgres: String
    /// The bench PostgreSQL's durability settings.
    var postgresSettings: [String: String]

    static func current(postgresSettings: [String: String]) -> MachineInfo {
        func run(_ command: String) -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            let pipe = Pipe()
            process.standardOutput = pipe
            try? process.run()
            process.waitUntilExit()
            return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return MachineInfo(
            cores: ProcessInfo.processInfo.activeProcessorCount,
            date: ISO8601DateFormatter().string(from: Date()),
            natsServer: run("${BANDITD_TEST_NATS_SERVER:-nats-server} --version"),
            postgres: run(
                "postgres --version 2>/dev/null || $(dirname $(readlink -f $(command -v initdb)))/postgres --version"),
            postgresSettings: postgresSettings)
    }
}

struct BenchResults: Codable {
    var machine: MachineInfo
    var decode: [String: Double] = [:]
    var rawPullAck: [String: Double] = [:]
    var rawCopy: [String: Double] = [:]
    /// The headline: the throughput issue's realistic mix as a 100,000-event backlog.
    var drainHeadline: DrainResult?
    var drainJoin: DrainResult?
    /// The headline drain while the closing job closes half the decisions (the reward loop's cost).
    var drainClosing: DrainResult?
    var drainBatchOne: DrainResult?
    /// The same drain with 1, 2 and 3 daemons sharing the consumers on this machine.
    var scaleOut: [DrainResult] = []
    /// The same drain on one nats-server (R1) and on the 3-node cluster (R3).
    var clusterComparison: [DrainResult] = []
    var steady: [SteadyResult] = []
    /// The headline drain on a ledger pre-grown to each size (issue 15: the growth curve).
    var ledgerGrowth: [LedgerGrowthResult] = []
    /// The headline drain with and without the retention job deleting old ledger rows.
    var retentionCost: RetentionCostResult?

    func write(to path: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? encoder.encode(self).write(to: url)
    }

    func table() -> String {
        func number(_ value: Double?) -> String {
            guard let value, value.isFinite else { return "-" }
            return value >= 100 ? String(format: "%.0f", value) : String(format: "%.2f", value)
        }
        var lines = [
            "| measurement | result |", "|---|---|",
            "| decode + validate, feedback.reward (\(number(decode["feedback_reward_bytes"])) B), 1 core | \(number(decode["feedback_reward_events_per_s"])) events/s |",
            "| decode + validate, feedback.routing (\(number(decode["feedback_routing_bytes"])) B), 1 core | \(number(decode["feedback_routing_events_per_s"])) events/s |",
            "| raw broker: pull 256 + ack, \(number(rawPullAck["messages"])) msgs | \(number(rawPullAck["messages_per_s"])) msgs/s |",
            "| raw database: COPY \(number(rawCopy["rows"])) ledger rows | \(number(rawCopy["rows_per_s"])) rows/s |",
        ]
        let bare = rawPullAck["messages_per_s"]
        for drain in [drainHeadline, drainClosing, drainJoin, drainBatchOne].compactMap({ $0 }) + scaleOut
            + clusterComparison
        {
            let ratio = bare.map { " = \(String(format: "%.2f", drain.eventsPerSecond / $0)) × bare pull+ack" } ?? ""
            let cpu = drain.cpuPercent
            let closed = drain.decisionsClosedByDefault.map { "; \($0) decisions closed by default" } ?? ""
            lines.append(
                "| \(drain.name): \(drain.events) events, batch \(drain.batchSize), \(drain.daemons) daemon(s) | **\(number(drain.eventsPerSecond)) events/s**\(ratio) (\(number(drain.seconds)) s; \(drain.naks) redelivered, \(drain.deadLettered) dead-lettered; CPU banditd \(number(cpu.daemon)) %, PostgreSQL \(number(cpu.postgres)) %, nats-server \(number(cpu.natsServer)) %; peak RSS \(drain.peakRSSKiB / 1024) MiB\(closed)) |"
            )
        }
        for steady in steady {
            lines.append(
                "| steady \(steady.rate) events/s for \(steady.seconds) s (achieved \(number(steady.achievedRate))/s) | publish→commit p50 \(number(steady.p50Milliseconds)) ms, **p99 \(number(steady.p99Milliseconds)) ms**, max \(number(steady.maxMilliseconds)) ms (n=\(steady.sampled)); backlog max \(steady.backlogMaxFirstHalf) → \(steady.backlogMaxSecondHalf), drained \(number(steady.drainAfterPublishSeconds)) s after the last publish: \(steady.sustained ? "sustained" : "NOT sustained"); peak RSS \(steady.peakRSSKiB / 1024) MiB |"
            )
        }
        let peak = ([drainHeadline, drainJoin].compactMap { $0?.peakRSSKiB } + steady.map(\.peakRSSKiB)).max()
        if let peak { lines.append("| peak RSS of the daemon (VmHWM), max over the runs above | \(peak / 1024) MiB |") }
        for drain in [drainHeadline, drainJoin].compactMap({ $0 }) where !drain.statements.isEmpty {
            lines.append("")
            lines.append("pg_stat_statements, \(drain.name):")
            lines.append("| calls | total ms | mean ms | rows | statement |")
            lines.append("|---:|---:|---:|---:|---|")
            for statement in drain.statements {
                lines.append(
                    "| \(statement.calls) | \(number(statement.totalMilliseconds)) | \(String(format: "%.3f", statement.meanMilliseconds)) | \(statement.rows) | `\(statement.query.replacingOccurrences(of: "|", with: "\\\\|"))` |"
                )
            }
        }
        lines += ledgerTable(number: number)
        lines.append("")
        let settings = machine.postgresSettings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        lines.append(
            "machine: \(machine.cores) cores; \(machine.natsServer); \(machine.postgres) (\(settings.joined(separator: ", "))); \(machine.date)"
        )
        return lines.joined(separator: "\n")
    }
}

extension BenchResults {
    /// The growth curve and the retention cost, as tables.
    func ledgerTable(number: (Double?) -> String) -> [String] {
        func mebibytes(_ bytes: Int) -> String { number(Double(bytes) / 1_048_576) }
        var lines: [String] = []
        if !ledgerGrowth.isEmpty {
            lines += [
                "", "ledger growth (headline drain after pre-growing processed_events):",
                "| ledger rows | drain events/s | table MiB | PK MiB | processed_at idx MiB | total MiB | B/row (total) | WAL B/event | ledger idx blocks read / hit | shared_buffers MiB | MemAvailable MiB | page cache MiB | fill s |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for growth in ledgerGrowth {
                let sizes = growth.sizes
                let drain = growth.drain
                let perRow = growth.ledgerRows > 0 ? number(Double(sizes.totalBytes) / Double(growth.ledgerRows)) : "-"
                let wal = drain.walBytes.map { number(Double($0) / Double(max(drain.events, 1))) } ?? "-"
                lines.append(
                    "| \(growth.ledgerRows) | **\(number(drain.eventsPerSecond))** | \(mebibytes(sizes.tableBytes)) | \(mebibytes(sizes.primaryKeyBytes)) | \(mebibytes(sizes.processedAtIndexBytes)) | \(mebibytes(sizes.totalBytes)) | \(perRow) | \(wal) | \(drain.ledgerIndexBlocksRead ?? 0) / \(drain.ledgerIndexBlocksHit ?? 0) | \(mebibytes(sizes.sharedBuffersBytes)) | \(number(Double(sizes.memory.availableKiB) / 1024)) | \(number(Double(sizes.memory.pageCacheKiB) / 1024)) | \(number(growth.fill.totalSeconds)) |"
                )
            }
        }
        if let cost = retentionCost {
            lines += [
                "",
                "retention cost (headline drain by two daemons on a ledger of \(cost.ledgerRows) rows, one daemon's retention run deleting beside it; slices of \(cost.sliceRows), each followed by a rest of 2× its time, at least \(cost.pauseMilliseconds) ms, and while a backlog drains 20× its time, at least \(cost.backlogPauseMilliseconds) ms; runs in order):",
                "| run | drain events/s | WAL B/event | CPU % PostgreSQL / banditd | retention during the drain |",
                "|---|---:|---:|---:|---|",
            ]
            for run in cost.runs {
                let drain = run.drain
                let wal = drain.walBytes.map { number(Double($0) / Double(max(drain.events, 1))) } ?? "-"
                let retention =
                    run.deleting
                    ? "\(run.ledgerRowsRemovedDuringDrain) rows removed; \(run.retentionRunningAtDrainEnd ? "still deleting at the drain's end" : "ENDED BEFORE the drain did"); retention_runs: \(run.run.outcome), \(run.run.ledgerDeleted) ledger rows, \(run.run.decisionsDeleted) decisions in \(number(run.run.seconds)) s"
                    : "nothing to delete"
                let cpu = "\(number(drain.cpuPercent.postgres)) / \(number(drain.cpuPercent.daemon))"
                lines.append(
                    "| \(drain.name) | **\(number(drain.eventsPerSecond))** | \(wal) | \(cpu) | \(retention) |")
            }
            let target = cost.dropPercent < 10 ? "within" : "OVER"
            lines.append(
                "| drop with retention deleting (means: \(number(cost.meanWithoutDeletes)) → \(number(cost.meanWithDeletes)) events/s) | **\(String(format: "%.1f", cost.dropPercent)) %** | | | \(target) the 10 % target |"
            )
        }
        return lines
    }
}
