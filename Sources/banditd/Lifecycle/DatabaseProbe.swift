import BanditLifecycle
import BanditOperations
import BanditStore
import BanditWorker
import Logging
import PostgresKit

/// Every 2 s a `SELECT 1`, so health says `degraded` while PostgreSQL is unreachable even when
/// no message flows; every 30 s the ledger's size and the last retention run for health and
/// metrics. Its own session, so a worker's held transaction never delays it.
struct DatabaseProbe {
    let databaseURL: String
    let observer: DaemonObserver
    let logger: Logger

    static let interval: Duration = .seconds(2)
    static let ledgerEvery = 15

    var service: ThreadService {
        ThreadService(name: "banditd-database-probe", abandonAfter: .seconds(5)) { stop in run(stop: stop) }
    }

    func run(stop: StopSignal) {
        let health = observer.health
        var probe: PostgresConnection?
        defer { probe?.close() }
        var probes = 0
        while !stop.sleep(Self.interval) {
            probes += 1
            let databaseAnswers: Bool
            do {
                let connection = try probe ?? PostgresConnection(conninfo: databaseURL)
                probe = connection
                _ = try connection.query("SELECT 1")
                databaseAnswers = true
            } catch {
                probe?.close()
                probe = nil
                databaseAnswers = false
            }
            if databaseAnswers, probes % Self.ledgerEvery == 1, let probe,
                let ledger = try? LedgerStatus.read(on: probe)
            {
                health.setLedger(
                    HealthState.LedgerHealth(
                        estimatedRows: ledger.estimatedRows, oldestAgeSeconds: ledger.oldestAgeSeconds,
                        lastRunFinishedAt: ledger.lastRunFinishedAt, lastRunOutcome: ledger.lastRunOutcome,
                        lastRunLedgerDeleted: ledger.lastRunLedgerDeleted,
                        lastRunDecisionsDeleted: ledger.lastRunDecisionsDeleted))
            }
            if databaseAnswers != health.postgresConnected {
                logger.log(
                    level: databaseAnswers ? .notice : .error,
                    databaseAnswers ? "PostgreSQL reachable again" : "PostgreSQL unreachable")
                observer.database(connected: databaseAnswers, reconnected: databaseAnswers)
            }
        }
    }
}
