import BanditStore
import Foundation
import PostgresKit
import TestServers

/// The data lifecycle scenarios (issue 15, CONTRACT section 10): the headline drain on a
/// pre-grown ledger, and the same drain while the daemon's retention job deletes.
extension Bench {
    /// The daemon's default `lifecycle.ledger_retention_days`; the bench does not change it.
    static let ledgerRetention = LedgerFill.day * 14

    // MARK: ledger-growth

    /// For each size: a fresh database whose ledger is pre-grown to that many rows (all inside the
    /// retention, spread over the last 13 days), then the headline drain.
    func ledgerGrowth() throws -> [LedgerGrowthResult] {
        try options.ledgerRows.map { rows in
            let hooks = LedgerGrowthHooks(rows: rows)
            let drain = try drain(
                name: "drain, headline mix, ledger pre-grown to \(rows) rows", mix: .headline, events: options.events,
                batchSize: options.batchSize, hooks: hooks)
            try hooks.dropDatabase(on: postgres)
            guard let sizes = hooks.sizes else { throw BenchFailure("ledger-growth: no sizes measured") }
            return LedgerGrowthResult(ledgerRows: rows, fill: hooks.timing, sizes: sizes, drain: drain)
        }
    }

    // MARK: retention-cost

    /// The headline drain on a ledger of `retentionLedgerRows` rows, `retentionPairs` times each
    /// way: with nothing to delete, and with `retentionOldShare` of it past the ledger retention
    /// while a retention run deletes them.
    ///
    /// The job's first run comes 30 s after a daemon starts (`RetentionJob.Configuration`
    /// `firstRunAfter`, then every 600 s; neither is a configuration setting), longer than the
    /// drain. So a second daemon — on the same database and the same NATS consumers, a second
    /// daemon of a fleet — is started first; once its run is under way (or, with nothing to
    /// delete, done) the backlog is published and both daemons drain it; the run yields to the
    /// backlog it sees (`ConsumerBacklog`). Both ways have the same two daemons, so they compare;
    /// the rate is not the headline's one-daemon rate. The draining daemon's own run, if the drain
    /// outlasts its first 30 s, finds the lock held and skips: the job is single-flight.
    func retentionCost() throws -> RetentionCostResult {
        let rows = options.retentionLedgerRows
        let old = Int((Double(rows) * options.retentionOldShare).rounded())
        func run(deleting: Bool) throws -> RetentionCostRun {
            let segments =
                deleting
                ? [
                    LedgerFill.Segment(
                        rows: old, oldestAge: Self.ledgerRetention + LedgerFill.day * 2,
                        newestAge: Self.ledgerRetention + .seconds(3600)),
                    LedgerFill.Segment(rows: rows - old, oldestAge: LedgerFill.day * 13, newestAge: .seconds(60)),
                ]
                : [LedgerFill.Segment(rows: rows, oldestAge: LedgerFill.day * 13, newestAge: .seconds(60))]
            let hooks = RetentionCostHooks(bench: self, segments: segments, deleting: deleting)
            defer { hooks.stopPeer() }
            let name =
                deleting
                ? "ledger of \(rows) rows, \(old) past retention, retention deleting"
                : "ledger of \(rows) rows, none past retention"
            let drain = try drain(
                name: name, mix: .headline, events: options.retentionEvents, batchSize: options.batchSize, hooks: hooks
            )
            hooks.stopPeer()
            try hooks.dropDatabase(on: postgres)
            return RetentionCostRun(
                deleting: deleting, drain: drain, ledgerRowsRemovedDuringDrain: hooks.oldAtStart - hooks.oldAtEnd,
                retentionRunningAtDrainEnd: hooks.runningAtEnd, run: hooks.run ?? RetentionRunRecord(),
                fill: hooks.timing)
        }
        var runs: [RetentionCostRun] = []
        for pair in 0..<options.retentionPairs {
            let order = pair.isMultiple(of: 2) ? [false, true] : [true, false]
            for deleting in order { runs.append(try run(deleting: deleting)) }
        }
        func mean(_ deleting: Bool) -> Double {
            let rates = runs.filter { $0.deleting == deleting }.map(\.drain.eventsPerSecond)
            return rates.reduce(0, +) / Double(max(rates.count, 1))
        }
        let pacing = Retention(ledgerRetention: Self.ledgerRetention, decisionsRetention: LedgerFill.day * 90)
        return RetentionCostResult(
            ledgerRows: rows, pastRetention: old, sliceRows: pacing.slice,
            pauseMilliseconds: Int(pacing.pause.seconds * 1000),
            backlogPauseMilliseconds: Int(pacing.backlogPause.seconds * 1000), runs: runs,
            meanWithoutDeletes: mean(false), meanWithDeletes: mean(true),
            dropPercent: (1 - mean(true) / max(mean(false), 0.001)) * 100)
    }
}

/// Pre-grows the ledger and records its sizes before the drain.
final class LedgerGrowthHooks: DrainHooks {
    let rows: Int
    var timing = LedgerFill.Timing()
    var sizes: LedgerSizes?
    var databaseName: String?

    init(rows: Int) { self.rows = rows }

    func prepared(_ stack: DaemonStack) throws {
        databaseName = stack.databaseName
        timing = try LedgerFill.grow(
            stack.database,
            segments: [LedgerFill.Segment(rows: rows, oldestAge: LedgerFill.day * 13, newestAge: .seconds(60))])
    }

    func startingDaemons(_ stack: DaemonStack) throws {
        sizes = try LedgerFill.sizes(stack.database)
    }

    /// Frees the disk (and the page cache) for the next size.
    func dropDatabase(on postgres: PostgresServer) throws {
        guard let databaseName else { return }
        try postgres.psql("DROP DATABASE \"\(databaseName)\" WITH (FORCE)")
    }
}

/// Pre-grows the ledger, starts a second daemon whose retention run deletes during the drain, and
/// counts the rows past retention at the drain's start and end.
final class RetentionCostHooks: DrainHooks {
    let bench: Bench
    let segments: [LedgerFill.Segment]
    let deleting: Bool
    var peer: ChildProcess?
    var databaseName: String?
    var oldAtStart = 0
    var oldAtEnd = 0
    var runningAtEnd = false
    var run: RetentionRunRecord?
    var timing = LedgerFill.Timing()

    init(bench: Bench, segments: [LedgerFill.Segment], deleting: Bool) {
        self.bench = bench
        self.segments = segments
        self.deleting = deleting
    }

    func prepared(_ stack: DaemonStack) throws {
        databaseName = stack.databaseName
        timing = try LedgerFill.grow(stack.database, segments: segments)
        // The peer shares the stack's NATS and consumers, as a second daemon of a fleet does: it
        // sees the backlog (and yields to it) and takes its share of the drain.
        let environment = DaemonEnvironment.make(
            natsURLs: [stack.environment["NATS_URL"] ?? ""], databaseURL: stack.environment["DATABASE_URL"] ?? "",
            ["BANDITD_HEALTH_SOCKET": stack.directory.appending("peer-health.sock"), "LOG_LEVEL": "info"])
        let log = stack.directory.appending("peer.log")
        try DaemonEnvironment.prepare(binary: bench.daemonBinary, environment: environment, logFile: log)
        peer = try ChildProcess(bench.daemonBinary, arguments: ["run"], environment: environment, logFile: log)
        // The run starts 30 s after the daemon: wait until it deletes (or, with nothing to
        // delete, has finished), then let the drain begin.
        try waitUntil(timeout: .seconds(180), poll: .milliseconds(100)) {
            let outcome = try stack.database.query("SELECT outcome FROM retention_runs").rows.first?.string(0)
            return deleting ? outcome == "running" : outcome == "ok"
        }
    }

    func startingDaemons(_ stack: DaemonStack) throws {
        oldAtStart = try pastRetention(stack.database)
    }

    func drained(_ stack: DaemonStack) throws {
        oldAtEnd = try pastRetention(stack.database)
        runningAtEnd = try stack.database.query("SELECT outcome FROM retention_runs").rows.first?.string(0) == "running"
        // Stopping the peer ends its run after the current slice; it records what it deleted.
        stopPeer()
        let row = try stack.database.query(
            "SELECT outcome, ledger_deleted, decisions_deleted, extract(epoch FROM finished_at - started_at)::float8 FROM retention_runs"
        ).rows[0]
        run = RetentionRunRecord(
            outcome: try row.string(0), ledgerDeleted: try row.int(1), decisionsDeleted: try row.int(2),
            seconds: try row.optionalString(3).flatMap(Double.init))
    }

    /// Rows older than 13.5 days: the segment past retention (the others are at most 13 days old).
    private func pastRetention(_ database: PostgresConnection) throws -> Int {
        try database.query("SELECT count(*) FROM processed_events WHERE processed_at < now() - interval '13.5 days'")
            .rows[0].int(0)
    }

    func stopPeer() {
        peer?.stop(timeout: .seconds(30))
        peer = nil
    }

    func dropDatabase(on postgres: PostgresServer) throws {
        guard let databaseName else { return }
        try postgres.psql("DROP DATABASE \"\(databaseName)\" WITH (FORCE)")
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
