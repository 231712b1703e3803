import Foundation
import Synchronization

/// What the health socket reports: status, connections and, through ``metrics``, the per-consumer
/// counters (CONTRACT section 7).
///
/// Status is derived, never set directly: `starting` until ``markReady()``; then `ready` while
/// NATS and PostgreSQL are both connected and `degraded` while either is not; `stopping` after
/// ``markStopping()``, for good. `ok` is true only when the status is `ready`.
public final class HealthState: Sendable {
    public let version: String
    /// The counters shown per consumer; the daemon records into it directly.
    public let metrics: Metrics

    private struct Flags: Sendable {
        var markedReady = false
        var stopping = false
        var natsConnected = false
        var postgresConnected = false

        var status: HealthStatus {
            if stopping { return .stopping }
            if !markedReady { return .starting }
            return natsConnected && postgresConnected ? .ready : .degraded
        }
    }

    private let flags = Mutex(Flags())
    private let uptime: @Sendable () -> Duration

    /// - Parameter uptime: time since the daemon started; by default measured from this call on the
    ///   continuous clock. Tests inject a fixed value.
    public init(version: String, metrics: Metrics = Metrics(), uptime: (@Sendable () -> Duration)? = nil) {
        self.version = version
        self.metrics = metrics
        if let uptime {
            self.uptime = uptime
        } else {
            let started = ContinuousClock.now
            self.uptime = { ContinuousClock.now - started }
        }
    }

    public var status: HealthStatus { flags.withLock { $0.status } }
    public var isOK: Bool { status == .ready }
    public var postgresConnected: Bool { flags.withLock { $0.postgresConnected } }
    public var natsConnected: Bool { flags.withLock { $0.natsConnected } }

    /// Records whether the NATS connection is up; returns the status afterwards.
    @discardableResult
    public func setNATSConnected(_ connected: Bool) -> HealthStatus {
        flags.withLock {
            $0.natsConnected = connected
            return $0.status
        }
    }

    /// Records whether PostgreSQL answers; returns the status afterwards.
    @discardableResult
    public func setPostgresConnected(_ connected: Bool) -> HealthStatus {
        flags.withLock {
            $0.postgresConnected = connected
            return $0.status
        }
    }

    /// Startup is over (both consumers bound, database answered): status follows the connections
    /// from now on. Returns the status afterwards.
    @discardableResult
    public func markReady() -> HealthStatus {
        flags.withLock {
            $0.markedReady = true
            return $0.status
        }
    }

    /// Shutdown has begun; the status stays `stopping`.
    public func markStopping() {
        flags.withLock { $0.stopping = true }
    }

    /// One line for sd_notify's `STATUS=`, e.g. `ready: signals 42 processed, feedback 0 processed`
    /// or `degraded: PostgreSQL unreachable`.
    public func statusLine() -> String {
        let current = flags.withLock { $0 }
        switch current.status {
        case .starting:
            return "starting"
        case .stopping:
            return "stopping: finishing in-flight messages"
        case .degraded:
            var down: [String] = []
            if !current.natsConnected { down.append("NATS") }
            if !current.postgresConnected { down.append("PostgreSQL") }
            return "degraded: \(down.joined(separator: " and ")) unreachable"
        case .ready:
            let counts = ConsumerRole.allCases.map { "\($0.rawValue) \(metrics.counters($0).processed) processed" }
            return "ready: " + counts.joined(separator: ", ")
        }
    }

    /// The health JSON of CONTRACT section 7, on one line, keys in the contract's order.
    public func healthJSON() -> String {
        let current = flags.withLock { $0 }
        let status = current.status
        var json = "{\"ok\":\(status == .ready),\"status\":\"\(status.rawValue)\""
        json += ",\"version\":\(JSONText.string(version)),\"uptime_s\":\(JSONText.seconds(uptime()))"
        json += ",\"nats\":{\"connected\":\(current.natsConnected),\"consumers\":{"
        for (position, role) in ConsumerRole.allCases.enumerated() {
            let counters = metrics.counters(role)
            if position > 0 { json += "," }
            json += "\"\(role.rawValue)\":{\"last_msg_ts\":"
            json += counters.lastMessageAt.map { "\"\(JSONText.timestamp($0))\"" } ?? "null"
            json += ",\"processed\":\(counters.processed),\"errors\":\(counters.errors)"
            json += ",\"redelivered\":\(counters.redelivered),\"dead_lettered\":\(counters.deadLettered)}"
        }
        json += "}},\"postgres\":{\"connected\":\(current.postgresConnected)}}"
        return json
    }

    /// The `metrics` answer: this state's gauges (`banditd_build_info`, `banditd_up`,
    /// `banditd_nats_connected`, `banditd_postgres_connected`), then every family of ``metrics``.
    public func prometheusText() -> String {
        let current = flags.withLock { $0 }
        var text = PrometheusText()
        text.family("banditd_build_info", .gauge, "The running banditd version; always 1.")
        text.sample("banditd_build_info", [("version", version)], UInt64(1))
        text.family("banditd_up", .gauge, "1 while the health status is ready (ok), else 0.")
        text.sample("banditd_up", [], current.status == .ready ? UInt64(1) : 0)
        text.family("banditd_nats_connected", .gauge, "1 while the NATS connection is up.")
        text.sample("banditd_nats_connected", [], current.natsConnected ? UInt64(1) : 0)
        text.family("banditd_postgres_connected", .gauge, "1 while PostgreSQL answers.")
        text.sample("banditd_postgres_connected", [], current.postgresConnected ? UInt64(1) : 0)
        return text.output + metrics.prometheusText()
    }
}
