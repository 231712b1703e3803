import BanditCore
import Foundation
import Prometheus
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

    /// What one worker loop (`signals-0`) reported last.
    public struct WorkerHealth: Sendable, Equatable {
        public var consumer: ConsumerRole
        /// When it last settled a batch.
        public var lastProgressAt: Date?
        /// Since when it holds its batch, and why (nil: not holding).
        public var holdingSince: Date?
        public var holdCode: String?
        public var holdReason: String?
        /// Messages set aside because their dead letter could not be stored.
        public var deadLettersWaiting = 0
        public var deadLetterFailure: String?

        public init(consumer: ConsumerRole) {
            self.consumer = consumer
        }

        public var isHealthy: Bool { holdingSince == nil && deadLettersWaiting == 0 }
    }

    /// The ledger's size and the last retention run (CONTRACT section 10), as last read.
    public struct LedgerHealth: Sendable, Equatable {
        public var estimatedRows: Int64
        public var oldestAgeSeconds: Double?
        public var lastRunFinishedAt: Date?
        public var lastRunOutcome: String?
        public var lastRunLedgerDeleted: Int64
        public var lastRunDecisionsDeleted: Int64

        public init(
            estimatedRows: Int64, oldestAgeSeconds: Double?, lastRunFinishedAt: Date?, lastRunOutcome: String?,
            lastRunLedgerDeleted: Int64, lastRunDecisionsDeleted: Int64
        ) {
            self.estimatedRows = estimatedRows
            self.oldestAgeSeconds = oldestAgeSeconds
            self.lastRunFinishedAt = lastRunFinishedAt
            self.lastRunOutcome = lastRunOutcome
            self.lastRunLedgerDeleted = lastRunLedgerDeleted
            self.lastRunDecisionsDeleted = lastRunDecisionsDeleted
        }
    }

    private let ledger = Mutex<LedgerHealth?>(nil)

    /// Records the ledger's size and the last retention run (and sets their gauges).
    public func setLedger(_ health: LedgerHealth) {
        ledger.withLock { $0 = health }
        gauges.ledger(health)
    }

    private let flags = Mutex(Flags())
    private let workers = Mutex<[String: WorkerHealth]>([:])
    private let uptime: @Sendable () -> Duration
    private let gauges: HealthGauges

    /// - Parameter uptime: time since the daemon started; by default measured from this call on the
    ///   continuous clock. Tests inject a fixed value.
    public init(version: String, metrics: Metrics = Metrics(), uptime: (@Sendable () -> Duration)? = nil) {
        self.version = version
        self.metrics = metrics
        gauges = HealthGauges(registry: metrics.registry, version: version, startedAt: Date())
        if let uptime {
            self.uptime = uptime
        } else {
            let started = ContinuousClock.now
            self.uptime = { ContinuousClock.now - started }
        }
    }

    public var status: HealthStatus { Self.status(flags.withLock { $0 }, workers.withLock { $0 }) }

    private static func status(_ flags: Flags, _ workers: [String: WorkerHealth]) -> HealthStatus {
        let status = flags.status
        if status == .ready && !workers.values.allSatisfy(\.isHealthy) { return .degraded }
        return status
    }

    /// Updates what the worker `loop` reports (created on first use).
    public func updateWorker(_ loop: String, consumer: ConsumerRole, _ update: (inout WorkerHealth) -> Void) {
        workers.withLock { workers in
            var health = workers[loop] ?? WorkerHealth(consumer: consumer)
            update(&health)
            workers[loop] = health
            gauges.worker(loop, health)
        }
    }

    public func worker(_ loop: String) -> WorkerHealth? { workers.withLock { $0[loop] } }

    /// Whether some worker of `consumer` holds its batch now.
    public func isHolding(_ consumer: ConsumerRole) -> Bool {
        workers.withLock { $0.values.contains { $0.consumer == consumer && $0.holdingSince != nil } }
    }
    public var isOK: Bool { status == .ready }
    public var postgresConnected: Bool { flags.withLock { $0.postgresConnected } }
    public var natsConnected: Bool { flags.withLock { $0.natsConnected } }

    /// Records whether the NATS connection is up; returns the status afterwards.
    @discardableResult
    public func setNATSConnected(_ connected: Bool) -> HealthStatus {
        flags.withLock { $0.natsConnected = connected }
        gauges.natsConnected.set(to: connected ? 1 : 0)
        return status
    }

    /// Records whether PostgreSQL answers; returns the status afterwards.
    @discardableResult
    public func setPostgresConnected(_ connected: Bool) -> HealthStatus {
        flags.withLock { $0.postgresConnected = connected }
        gauges.postgresConnected.set(to: connected ? 1 : 0)
        return status
    }

    /// Startup is over (both consumers bound, database answered): status follows the connections
    /// from now on. Returns the status afterwards.
    @discardableResult
    public func markReady() -> HealthStatus {
        flags.withLock { $0.markedReady = true }
        return status
    }

    /// Shutdown has begun; the status stays `stopping`.
    public func markStopping() {
        flags.withLock { $0.stopping = true }
    }

    /// One line for sd_notify's `STATUS=`, e.g. `ready: signals 42 processed, feedback 0 processed`
    /// or `degraded: PostgreSQL unreachable`.
    public func statusLine() -> String {
        let current = flags.withLock { $0 }
        switch status {
        case .starting:
            return "starting"
        case .stopping:
            return "stopping: finishing in-flight messages"
        case .degraded:
            var problems: [String] = []
            var down: [String] = []
            if !current.natsConnected { down.append("NATS") }
            if !current.postgresConnected { down.append("PostgreSQL") }
            if !down.isEmpty { problems.append("\(down.joined(separator: " and ")) unreachable") }
            for (loop, worker) in workers.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
                if let reason = worker.holdReason { problems.append("\(loop) holding: \(reason)") }
                if worker.deadLettersWaiting > 0 {
                    problems.append("\(loop): \(worker.deadLettersWaiting) dead letter(s) not stored")
                }
            }
            return "degraded: " + problems.joined(separator: "; ")
        case .ready:
            let counts = ConsumerRole.allCases.map { "\($0.rawValue) \(metrics.counters($0).processed) processed" }
            return "ready: " + counts.joined(separator: ", ")
        }
    }

    /// The health JSON of CONTRACT section 7, on one line, keys in the contract's order.
    public func healthJSON() -> String {
        let current = flags.withLock { $0 }
        let workers = self.workers.withLock { $0 }
        let status = Self.status(current, workers)
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
        json += "}},\"postgres\":{\"connected\":\(current.postgresConnected)}"
        // Beyond the contract's members: what each worker loop is doing.
        json += ",\"workers\":{"
        for (position, (loop, worker)) in workers.sorted(by: { $0.key < $1.key }).enumerated() {
            if position > 0 { json += "," }
            json += "\(JSONText.string(loop)):{\"consumer\":\"\(worker.consumer.rawValue)\",\"last_progress_ts\":"
            json += worker.lastProgressAt.map { "\"\(JSONText.timestamp($0))\"" } ?? "null"
            json += ",\"holding\":"
            if let since = worker.holdingSince {
                json += "{\"since\":\"\(JSONText.timestamp(since))\",\"code\":\(JSONText.string(worker.holdCode ?? ""))"
                json += ",\"reason\":\(JSONText.string(worker.holdReason ?? ""))}"
            } else {
                json += "null"
            }
            json += ",\"dead_letters_waiting\":\(worker.deadLettersWaiting)"
            json += ",\"dead_letter_failure\":\(worker.deadLetterFailure.map(JSONText.string) ?? "null")}"
        }
        json += "}"
        let rewardLoop = metrics.rewardLoopCounts
        json += ",\"reward_loop\":{\"closed_by_default\":\(rewardLoop.closedByDefault)"
        json += ",\"late_corrected\":\(rewardLoop.lateCorrected)}"
        if let ledger = ledger.withLock({ $0 }) {
            json += ",\"ledger\":{\"rows_estimate\":\(ledger.estimatedRows)"
            json += ",\"oldest_age_s\":\(ledger.oldestAgeSeconds.map { JSONText.seconds(.seconds($0)) } ?? "null")"
            json += ",\"last_retention\":"
            if let outcome = ledger.lastRunOutcome {
                json += "{\"finished_at\":\(ledger.lastRunFinishedAt.map { "\"\(JSONText.timestamp($0))\"" } ?? "null")"
                json += ",\"outcome\":\(JSONText.string(outcome)),\"ledger_deleted\":\(ledger.lastRunLedgerDeleted)"
                json += ",\"decisions_deleted\":\(ledger.lastRunDecisionsDeleted)}"
            } else {
                json += "null"
            }
            json += "}"
        }
        json += "}"
        return json
    }

    /// The `metrics` answer (and `/metrics`): this state's gauges (`banditd_build_info`,
    /// `banditd_up`, `banditd_process_start_time_seconds`, the connections, and per worker loop
    /// `banditd_worker_holding` and `banditd_worker_dead_letters_waiting`), then every family of
    /// ``metrics``, all from one registry.
    public func prometheusText() -> String {
        gauges.up.set(to: status == .ready ? 1 : 0)
        return metrics.prometheusText()
    }
}

/// The gauges of ``HealthState`` in the metrics registry. The connection and worker gauges move
/// where their state changes; `banditd_up` is set when the metrics are rendered (it follows from
/// everything else).
private final class HealthGauges: Sendable {
    let up: Gauge
    let natsConnected: Gauge
    let postgresConnected: Gauge
    let ledgerGauges: (rows: Gauge, oldestAge: Gauge, lastRun: Gauge, lastRunOK: Gauge)
    private let registry: PrometheusCollectorRegistry
    /// Per worker loop: holding, dead letters waiting.
    private let workers = Mutex<[String: (holding: Gauge, deadLettersWaiting: Gauge)]>([:])

    init(registry: PrometheusCollectorRegistry, version: String, startedAt: Date) {
        self.registry = registry
        registry.makeGauge(
            descriptor: .banditd("build", unit: "info", "The running banditd version; always 1."),
            labels: [("version", version)]
        ).set(to: 1)
        registry.makeGauge(
            descriptor: .banditd(
                "process_start_time", unit: "seconds",
                "Unix time the daemon started; a change means a restart (by systemd's watchdog, a crash or an operator)."
            )
        ).set(to: startedAt.timeIntervalSince1970)
        up = registry.makeGauge(
            descriptor: .banditd("up", unit: "", "1 while the health status is ready (ok), else 0."))
        natsConnected = registry.makeGauge(
            descriptor: .banditd("nats_connected", unit: "", "1 while the NATS connection is up."))
        postgresConnected = registry.makeGauge(
            descriptor: .banditd("postgres_connected", unit: "", "1 while PostgreSQL answers."))
        ledgerGauges = (
            registry.makeGauge(
                descriptor: .banditd("ledger_rows", unit: "", "Rows of processed_events (the planner's estimate).")),
            registry.makeGauge(
                descriptor: .banditd("ledger_oldest_age", unit: "seconds", "Age of the oldest ledger row.")),
            registry.makeGauge(
                descriptor: .banditd(
                    "retention_last_run_timestamp", unit: "seconds", "Unix time the last retention run finished.")),
            registry.makeGauge(
                descriptor: .banditd(
                    "retention_last_run_ok", unit: "", "1 if the last retention run succeeded, else 0."))
        )
    }

    func ledger(_ health: HealthState.LedgerHealth) {
        ledgerGauges.rows.set(to: Double(health.estimatedRows))
        ledgerGauges.oldestAge.set(to: health.oldestAgeSeconds ?? 0)
        if let finished = health.lastRunFinishedAt { ledgerGauges.lastRun.set(to: finished.timeIntervalSince1970) }
        ledgerGauges.lastRunOK.set(to: health.lastRunOutcome == "ok" ? 1 : 0)
    }

    /// Sets the worker gauges of `loop` (created on first use; a worker loop keeps its consumer).
    func worker(_ loop: String, _ health: HealthState.WorkerHealth) {
        let gauges = workers.withLock { workers in
            if let known = workers[loop] { return known }
            let labels = [("consumer", health.consumer.rawValue), ("worker", loop)]
            let added = (
                holding: registry.makeGauge(
                    descriptor: .banditd(
                        "worker_holding", unit: "", "1 while the worker holds its batch (the database cannot take it)."),
                    labels: labels),
                deadLettersWaiting: registry.makeGauge(
                    descriptor: .banditd(
                        "worker_dead_letters_waiting", unit: "", "Messages whose dead letter could not be stored yet."),
                    labels: labels)
            )
            workers[loop] = added
            return added
        }
        gauges.holding.set(to: health.holdingSince == nil ? 0 : 1)
        gauges.deadLettersWaiting.set(to: Double(health.deadLettersWaiting))
    }
}
