import BanditCore
import BanditStore
import Foundation
import Logging
import NATSKit
import PostgresKit

/// One apply lane of a worker: takes decoded batches from its handoff, applies each in one
/// transaction on its own PostgreSQL session, and settles the messages (ack after COMMIT, nak,
/// dead letter). A worker runs several lanes side by side; its fetcher sends every user's
/// messages to one lane (`ApplyLanes`), so lanes never wait for each other's row locks.
///
/// Holds a batch through a database outage (`OutageHold`), isolates a poison message by
/// splitting the batch, and sets aside dead letters that cannot be stored (`DeadLetterBacklog`).
/// Used only by the thread that runs it.
final class ApplyLane {
    private let configuration: ConsumerWorker.Configuration
    /// This lane's loop name for the watchdog, health and metrics (`feedback-1`).
    let loop: String
    let handoff = BatchHandoff(capacity: 1)
    private let nats: NATSConnection
    private let observer: any WorkerObserver
    private let logger: Logger
    private let applier: BatchApplier
    private let deadLetters: DeadLetterBacklog
    private let holdPolicy: OutageHold.Policy
    private var database: PostgresConnection?
    /// The state rows this lane wrote last (its users' rows: no other lane writes them).
    let stateCache = StateCache()

    /// Connects to PostgreSQL (a failure here fails the worker's start).
    init(
        configuration: ConsumerWorker.Configuration, lane: Int, nats: NATSConnection, policies: PolicyRegistry,
        observer: any WorkerObserver, logger: Logger
    ) throws {
        self.configuration = configuration
        loop = configuration.laneLoop(lane)
        self.nats = nats
        self.observer = observer
        var logger = logger
        logger[metadataKey: "lane"] = "\(loop)"
        self.logger = logger
        holdPolicy = OutageHold.Policy(ackWait: configuration.ackWait)
        applier = BatchApplier(policies: policies)
        deadLetters = DeadLetterBacklog(nats: nats, keepAliveInterval: holdPolicy.keepAliveInterval, logger: logger)
        database = try connect()
    }

    deinit {
        database?.close()
    }

    /// Applies batches until the fetch side has finished and everything was taken.
    func run(stop: StopSignal) {
        defer {
            handoff.stopConsuming()
            deadLetters.abandon()
            database?.close()
            database = nil
            observer.loopEnded(loop)
        }
        while true {
            observer.loopBeat(loop)
            serviceDeadLetters()
            switch handoff.take(timeout: .seconds(1)) {
            case .batch(let batch):
                process(batch, stop: stop)
            case .timedOut:
                // Idle: make sure the acks sent so far reached the server (under load cnats's
                // own flushing sends them within a millisecond; no round trip per batch).
                try? nats.flush()
            case .finished:
                // The last acks must reach the server before the connection closes.
                try? nats.flush()
                return
            }
        }
    }

    // MARK: - One batch

    func process(_ batch: FetchedBatch, stop: StopSignal) {
        let messages = batch.messages
        observer.fetched(
            role: configuration.role, count: messages.count,
            redelivered: messages.count { $0.metadata.deliveryCount > 1 })
        var outcomes = [MessageOutcome](repeating: .applied, count: messages.count)
        var items: [BatchItem] = []
        var itemPositions: [Int] = []
        for (position, (message, decoded)) in zip(messages, batch.decoded).enumerated() {
            switch decoded {
            case .success(let event):
                items.append(BatchItem(event: event, origin: MessageOrigin(message)))
                itemPositions.append(position)
            case .failure(let rejection):
                outcomes[position] = .rejected(reason: rejection.reason, detail: rejection.detail)
            }
        }
        var applySeconds: Double?
        if !items.isEmpty {
            let started = ContinuousClock.now
            guard let applied = applyHoldingThroughOutages(items, messages: messages, stop: stop) else {
                // Stopping during an outage: hand everything back for redelivery now.
                for message in messages + handoff.drain() { try? nats.nak(message) }
                var settled = SettledBatch()
                settled.naked = messages.count
                observer.settled(role: configuration.role, loop: loop, outcome: settled)
                return
            }
            applySeconds = (ContinuousClock.now - started).seconds
            let late = applied.count { $0 == .appliedLate }
            if late > 0 { observer.rewardLoop(closedByDefault: 0, lateCorrected: late) }
            for (offset, outcome) in applied.enumerated() {
                outcomes[itemPositions[offset]] = MessageOutcome(outcome)
            }
        }
        settle(messages, outcomes, applySeconds: applySeconds)
    }

    /// Applies the batch. A database that cannot take it (down, read-only, a permission or
    /// schema problem, a lock held elsewhere) is not the messages' fault and must not spend their
    /// delivery budget: hold the batch, keep its messages (and those waiting behind it) alive,
    /// keep the watchdog fed, retry with backoff for as long as it takes. Returns nil only when
    /// shutdown is requested during a hold. The decisions are `OutageHold`'s; this is the I/O.
    func applyHoldingThroughOutages(
        _ items: [BatchItem], messages: [JetStreamMessage], stop: StopSignal
    ) -> [ApplyOutcome]? {
        var hold = OutageHold(policy: holdPolicy, start: .now)
        var toldFetcher = false
        defer { if toldFetcher { handoff.isHolding = false } }
        while true {
            do {
                let connection = try connectedDatabase()
                let outcomes = try applyIsolatingPoison(items, on: connection)
                if let held = hold.succeeded(at: .now) {
                    logger.notice(
                        "PostgreSQL takes batches again; the held batch applied",
                        metadata: ["held_s": "\(String(format: "%.1f", held.seconds))"])
                    observer.holding(role: configuration.role, loop: loop, since: nil, reason: nil)
                    observer.database(connected: true, reconnected: true)
                }
                return outcomes
            } catch {
                switch hold.failed(DatabaseFailure(error), at: .now, jitter: Double.random(in: 0..<1)) {
                case .retry(let delay):
                    Thread.sleep(forTimeInterval: delay.seconds)
                case .giveUp:
                    return items.map { _ in .retryLater(detail: "serialization conflicts: \(error)") }
                case .hold(let wait, let keepAlive, let reconnect, let log):
                    if !toldFetcher {
                        handoff.isHolding = true  // the fetcher stops waiting for this lane's room
                        toldFetcher = true
                    }
                    if reconnect {
                        database?.close()
                        database = nil
                    }
                    if log, let reason = hold.reason {
                        logger.error(
                            "holding the batch: \(reason)",
                            metadata: [
                                "hold_reason": "\(reason.kind.rawValue)", "error": "\(error)",
                                "held_s":
                                    "\(String(format: "%.1f", (ContinuousClock.now - (hold.holdingSince ?? .now)).seconds))",
                                "messages": "\(messages.count)",
                            ])
                        observer.holding(
                            role: configuration.role, loop: loop,
                            since: Date() - (ContinuousClock.now - (hold.holdingSince ?? .now)).seconds, reason: reason)
                        if reason.kind == .unreachable { observer.database(connected: false, reconnected: false) }
                    }
                    if keepAlive {
                        for message in messages + handoff.queuedMessages { try? nats.inProgress(message) }
                    }
                    observer.loopBeat(loop)
                    serviceDeadLetters()
                    if stop.sleep(wait) { return nil }
                }
            }
        }
    }

    /// One transaction for the batch; if it fails because a row is bad (SQLSTATE class 22/23),
    /// split it and retry the halves, down to the one message that dead-letters alone.
    func applyIsolatingPoison(_ items: [BatchItem], on connection: PostgresConnection) throws(PostgresError)
        -> [ApplyOutcome]
    {
        do {
            return try applier.apply(items, on: connection, cache: stateCache)
        } catch  where error.category == .badData {
            if items.count == 1 {
                return [.rejected(.dataRejected, detail: "the database refused it: \(error.message)")]
            }
            let middle = items.count / 2
            return try applyIsolatingPoison(Array(items[..<middle]), on: connection)
                + applyIsolatingPoison(Array(items[middle...]), on: connection)
        }
    }

    private func connectedDatabase() throws(PostgresError) -> PostgresConnection {
        if let database { return database }
        let connection = try connect()
        database = connection
        stateCache.removeAll()  // a new session assumes nothing about the database
        return connection
    }

    /// A session with this worker's lock and statement timeouts.
    private func connect() throws(PostgresError) -> PostgresConnection {
        let connection = try PostgresConnection(conninfo: configuration.databaseURL)
        try connection.query(
            "SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)",
            ["\(configuration.lockTimeout.milliseconds)ms", "\(configuration.statementTimeout.milliseconds)ms"])
        return connection
    }

    // MARK: - Settling

    func settle(_ messages: [JetStreamMessage], _ outcomes: [MessageOutcome], applySeconds: Double?) {
        var settled = SettledBatch()
        settled.applySeconds = applySeconds
        for (message, outcome) in zip(messages, outcomes) {
            let settlement = configuration.settlement.settle(
                outcome, deliveryCount: message.metadata.deliveryCount, unitRandom: Double.random(in: 0..<1))
            do {
                switch settlement {
                case .ack:
                    try nats.ack(message)
                    if outcome == .parked { settled.parked += 1 } else { settled.acked += 1 }
                case .nak(let delay):
                    try nats.nak(message, delay: delay)
                    settled.naked += 1
                    logger.debug(
                        "message will be redelivered",
                        metadata: metadata(of: message).merging(["delay_ms": "\(delay.milliseconds)"]) { $1 })
                case .deadLetter(let reason, let detail):
                    switch deadLetters.deadLetter(message, reason: reason, detail: detail) {
                    case .stored(let stored):
                        logger.warning(
                            "message dead-lettered",
                            metadata: metadata(of: message).merging([
                                "reason": "\(reason)", "detail": "\(DeadLetter.headerLine(detail))",
                                "body_omitted": "\(stored.bodyOmitted)", "duplicate": "\(stored.ack.duplicate)",
                            ]) { $1 })
                        if !stored.ack.duplicate { settled.deadLettered.append(reason) }
                    case .setAside:
                        settled.setAside += 1
                    }
                }
            } catch {
                // The connection is closed: unsettled messages come back after ack wait, and the
                // ledger makes their second application impossible.
                logger.warning("settling failed", metadata: metadata(of: message).merging(["error": "\(error)"]) { $1 })
            }
        }
        observer.settled(role: configuration.role, loop: loop, outcome: settled)
        if settled.setAside > 0 { reportDeadLetterBacklog() }
    }

    /// Retries dead letters that were set aside, keeps them alive, and reports the backlog.
    private func serviceDeadLetters() {
        guard deadLetters.count > 0 else { return }
        let stored = deadLetters.service()
        if !stored.isEmpty {
            var settled = SettledBatch()
            settled.deadLettered = stored.filter { !$0.stored.ack.duplicate }.map(\.reason)
            observer.settled(role: configuration.role, loop: loop, outcome: settled)
        }
        reportDeadLetterBacklog()
    }

    private func reportDeadLetterBacklog() {
        observer.deadLettersWaiting(
            role: configuration.role, loop: loop, count: deadLetters.count,
            failure: deadLetters.lastFailure.map { "\($0)" })
    }

    private func metadata(of message: JetStreamMessage) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "subject": "\(message.subject)", "stream_seq": "\(message.metadata.streamSequence)",
            "deliveries": "\(message.metadata.deliveryCount)",
        ]
        if let traceID = TraceContext.traceID(fromTraceparent: message.headers["traceparent"]) {
            metadata["trace_id"] = "\(traceID)"
        }
        return metadata
    }
}
