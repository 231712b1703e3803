import Foundation

struct DrainResult: Codable {
    var name: String
    var events: Int
    var batchSize: Int
    /// Daemons sharing the consumers.
    var daemons: Int = 1
    var seconds: Double
    var eventsPerSecond: Double
    var peakRSSKiB: Int
    /// Redeliveries the consumers counted (naks, e.g. rewards that arrived before their decision).
    var naks: Int
    var deadLettered: Int
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
}

struct MachineInfo: Codable {
    var cores: Int
    var date: String
    var natsServer: String
    var postgres: String

    static func current() -> MachineInfo {
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
                "postgres --version 2>/dev/null || $(dirname $(readlink -f $(command -v initdb)))/postgres --version"))
    }
}

struct BenchResults: Codable {
    var machine: MachineInfo
    var decode: [String: Double] = [:]
    var rawPullAck: [String: Double] = [:]
    var rawCopy: [String: Double] = [:]
    var drainMixed: DrainResult?
    var drainJoined: DrainResult?
    var drainBatchOne: DrainResult?
    /// The same drain with 1, 2 and 3 daemons sharing the consumers on this machine.
    var scaleOut: [DrainResult] = []
    /// The same drain on one nats-server (R1) and on the 3-node cluster (R3).
    var clusterComparison: [DrainResult] = []
    var steady: SteadyResult?

    func write(to path: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? encoder.encode(self).write(to: url)
    }

    func table() -> String {
        func number(_ value: Double?) -> String {
            guard let value else { return "-" }
            return value >= 100 ? String(format: "%.0f", value) : String(format: "%.2f", value)
        }
        var lines = [
            "| measurement | result |", "|---|---|",
            "| decode + validate, feedback.reward (\(number(decode["feedback_reward_bytes"])) B), 1 core | \(number(decode["feedback_reward_events_per_s"])) events/s |",
            "| decode + validate, feedback.routing (\(number(decode["feedback_routing_bytes"])) B), 1 core | \(number(decode["feedback_routing_events_per_s"])) events/s |",
            "| raw broker: pull 256 + ack, \(number(rawPullAck["messages"])) msgs | \(number(rawPullAck["messages_per_s"])) msgs/s |",
            "| raw database: COPY \(number(rawCopy["rows"])) ledger rows | \(number(rawCopy["rows_per_s"])) rows/s |",
        ]
        for drain in [drainMixed, drainJoined, drainBatchOne].compactMap({ $0 }) + scaleOut + clusterComparison {
            lines.append(
                "| \(drain.name): \(drain.events) events, batch \(drain.batchSize), \(drain.daemons) daemon(s) | \(number(drain.eventsPerSecond)) events/s (\(number(drain.seconds)) s, \(drain.naks) redelivered, \(drain.deadLettered) dead-lettered, peak RSS \(drain.peakRSSKiB / 1024) MiB) |"
            )
        }
        if let steady {
            lines.append(
                "| steady \(steady.rate) events/s for \(steady.seconds) s (achieved \(number(steady.achievedRate))/s) | publish→commit p50 \(number(steady.p50Milliseconds)) ms, p99 \(number(steady.p99Milliseconds)) ms, max \(number(steady.maxMilliseconds)) ms (n=\(steady.sampled)); peak RSS \(steady.peakRSSKiB / 1024) MiB |"
            )
        }
        lines.append("")
        lines.append("machine: \(machine.cores) cores; \(machine.natsServer); \(machine.postgres); \(machine.date)")
        return lines.joined(separator: "\n")
    }
}
