import BanditCore
import BanditOperations
import BanditWorker
import Foundation

/// Feeds what the workers report into metrics, health and the watchdog.
struct DaemonObserver: WorkerObserver {
    let health: HealthState
    let watchdog: ProgressWatchdog
    let notifier: SystemdNotifier

    func loopBeat(_ loop: String) {
        watchdog.beat(loop: loop)
    }

    func loopEnded(_ loop: String) {
        watchdog.unregister(loop: loop)
    }

    func fetched(role consumer: ConsumerRole, count: Int, redelivered: Int) {
        health.metrics.recordBatch(consumer, size: count)
        if redelivered > 0 { health.metrics.recordRedelivered(consumer, count: redelivered) }
    }

    func settled(role consumer: ConsumerRole, loop: String, outcome: SettledBatch) {
        health.updateWorker(loop, consumer: consumer) { $0.lastProgressAt = Date() }
        if outcome.acked > 0 { health.metrics.recordProcessed(consumer, count: outcome.acked) }
        if outcome.parked > 0 { health.metrics.recordParked(consumer, count: outcome.parked) }
        let errors = outcome.naked + outcome.deadLettered.count + outcome.setAside
        if errors > 0 { health.metrics.recordErrors(consumer, count: errors) }
        for reason in outcome.deadLettered { health.metrics.recordDeadLettered(consumer, reason: reason) }
        if let applySeconds = outcome.applySeconds {
            health.metrics.recordApply(consumer, duration: .seconds(applySeconds))
        }
    }

    func holding(role consumer: ConsumerRole, loop: String, since: Date?, reason: HoldReason?) {
        let before = health.status
        health.updateWorker(loop, consumer: consumer) { worker in
            worker.holdingSince = since
            worker.holdCode = reason?.kind.rawValue
            worker.holdReason = reason.map { "\($0)" }
            if since == nil { worker.lastProgressAt = Date() }
        }
        if health.status != before { _ = try? notifier.status(health.statusLine()) }
    }

    func deadLettersWaiting(role consumer: ConsumerRole, loop: String, count: Int, failure: String?) {
        let before = health.status
        health.updateWorker(loop, consumer: consumer) { worker in
            worker.deadLettersWaiting = count
            worker.deadLetterFailure = count > 0 ? failure : nil
        }
        if health.status != before { _ = try? notifier.status(health.statusLine()) }
    }

    func rewardLoop(closedByDefault: Int, lateCorrected: Int) {
        health.metrics.recordRewardLoop(closedByDefault: closedByDefault, lateCorrected: lateCorrected)
    }

    func database(connected: Bool, reconnected: Bool) {
        health.setPostgresConnected(connected)
        if reconnected { health.metrics.recordDatabaseReconnect() }
        _ = try? notifier.status(health.statusLine())
    }
}
