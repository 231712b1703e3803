import BanditOperations
import BanditWorker

/// Feeds what the workers report into metrics, health and the watchdog.
struct DaemonObserver: WorkerObserver {
    let health: HealthState
    let watchdog: ProgressWatchdog
    let notifier: SystemdNotifier

    static func loopName(role: String, worker: Int) -> String { "\(role)-\(worker)" }

    func loopBeat(role: String, worker: Int) {
        watchdog.beat(loop: Self.loopName(role: role, worker: worker))
    }

    func fetched(role: String, count: Int, redelivered: Int) {
        guard let consumer = ConsumerRole(rawValue: role) else { return }
        health.metrics.recordBatch(consumer, size: count)
        if redelivered > 0 { health.metrics.recordRedelivered(consumer, count: redelivered) }
    }

    func settled(role: String, acked: Int, naked: Int, deadLettered: [String], applySeconds: Double?) {
        guard let consumer = ConsumerRole(rawValue: role) else { return }
        if acked > 0 { health.metrics.recordProcessed(consumer, count: acked) }
        if naked + deadLettered.count > 0 { health.metrics.recordErrors(consumer, count: naked + deadLettered.count) }
        for reason in deadLettered { health.metrics.recordDeadLettered(consumer, reason: reason) }
        if let applySeconds { health.metrics.recordApply(consumer, duration: .seconds(applySeconds)) }
    }

    func database(connected: Bool, reconnected: Bool) {
        health.setPostgresConnected(connected)
        if reconnected { health.metrics.recordDatabaseReconnect() }
        _ = try? notifier.status(health.statusLine())
    }
}
