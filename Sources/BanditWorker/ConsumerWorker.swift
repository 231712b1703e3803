import BanditCore
import BanditStore
import Foundation
import Logging
import NATSKit
import PostgresKit

/// One fetch loop on one durable consumer: fetch → decode → apply (one transaction) → settle.
/// Runs on a thread of its own (`run` blocks); owns its pull subscription and its PostgreSQL
/// connection, shares the NATS connection (which is thread-safe).
///
/// The path of one message, file by file: `PullConsumer.fetch` (NATSKit) → `EventDecoder.decode`
/// (BanditCore) → `BatchApplier.apply` (BanditStore) → `SettlementPolicy.settle` (here) →
/// `NATSConnection.ack` / `nak` / `DeadLetter` + `term`.
public final class ConsumerWorker {
    public struct Configuration: Sendable {
        public var role: String
        public var stream: String
        public var consumer: String
        public var workerIndex: Int
        public var batchSize: Int
        public var maxWait: Duration
        public var ackWait: Duration
        public var databaseURL: String
        public var settlement: SettlementPolicy

        public init(
            role: String, stream: String, consumer: String, workerIndex: Int = 0, batchSize: Int, maxWait: Duration,
            ackWait: Duration, databaseURL: String, settlement: SettlementPolicy
        ) {
            self.role = role
            self.stream = stream
            self.consumer = consumer
            self.workerIndex = workerIndex
            self.batchSize = batchSize
            self.maxWait = maxWait
            self.ackWait = ackWait
            self.databaseURL = databaseURL
            self.settlement = settlement
        }
    }

    /// Serialization failures and deadlocks are retried in-process this many times before the
    /// batch's messages are naked.
    static let maxSerializationRetries = 5

    private let configuration: Configuration
    private let nats: NATSConnection
    private let consumer: PullConsumer
    private let decoder: EventDecoder
    private let applier = BatchApplier()
    private let observer: any WorkerObserver
    private var logger: Logger
    private var database: PostgresConnection?
    /// Messages delivered while a batch was held through an outage: kept alive with the batch,
    /// processed before the next fetch.
    private var carried: [JetStreamMessage] = []

    /// Binds the consumer (it must exist: `streams ensure`) and connects to PostgreSQL.
    public init(
        configuration: Configuration, nats: NATSConnection, decoder: EventDecoder, observer: any WorkerObserver,
        logger: Logger
    ) throws {
        self.configuration = configuration
        self.nats = nats
        self.decoder = decoder
        self.observer = observer
        var logger = logger
        logger[metadataKey: "consumer"] = "\(configuration.consumer)"
        logger[metadataKey: "worker"] = "\(configuration.workerIndex)"
        self.logger = logger
        self.consumer = try PullConsumer(
            connection: nats, stream: configuration.stream, consumer: configuration.consumer)
        self.database = try PostgresConnection(conninfo: configuration.databaseURL)
    }

    deinit {
        consumer.close()
        database?.close()
    }

    /// Fetches and processes until `stop` is requested, then settles what open pulls still
    /// deliver and returns. Throws only on a failure no retry can fix (the consumer was deleted).
    public func run(stop: StopSignal) throws {
        var fetchBackoff = Backoff()
        while !stop.isRequested {
            observer.loopBeat(role: configuration.role, worker: configuration.workerIndex)
            if !carried.isEmpty {
                let next = Array(carried.prefix(configuration.batchSize))
                carried.removeFirst(next.count)
                process(next, stop: stop)
                continue
            }
            let messages: [JetStreamMessage]
            do {
                messages = try consumer.fetch(maxMessages: configuration.batchSize, maxWait: configuration.maxWait)
                fetchBackoff = Backoff()
            } catch {
                // A 409 such as "Consumer Deleted" needs a restart (which re-creates the
                // consumer); anything else (disconnected, no responders) passes.
                if case .pullStatus = error.origin { throw error }
                logger.warning("fetch failed; retrying", metadata: ["error": "\(error)"])
                _ = stop.sleep(fetchBackoff.next())
                continue
            }
            if !messages.isEmpty { process(messages, stop: stop) }
        }
        // Shutdown: take what the open pull requests still deliver and settle it too.
        var remaining = carried
        carried = []
        remaining += (try? consumer.finish(maxWait: configuration.maxWait + .milliseconds(500))) ?? []
        while !remaining.isEmpty {
            let next = Array(remaining.prefix(configuration.batchSize))
            remaining.removeFirst(next.count)
            process(next, stop: stop)
        }
        consumer.close()
        database?.close()
        database = nil
    }

    // MARK: - One batch

    func process(_ messages: [JetStreamMessage], stop: StopSignal) {
        observer.fetched(
            role: configuration.role, count: messages.count,
            redelivered: messages.count { $0.metadata.deliveryCount > 1 })
        let now = Date()
        var outcomes = [MessageOutcome](repeating: .applied, count: messages.count)
        var items: [BatchItem] = []
        var itemPositions: [Int] = []
        for (position, message) in messages.enumerated() {
            switch decoder.decode(subject: message.subject, headers: [:], body: message.body, now: now) {
            case .success(let event):
                items.append(
                    BatchItem(
                        event: event, subject: message.subject, stream: message.metadata.stream,
                        streamSequence: message.metadata.streamSequence))
                itemPositions.append(position)
            case .failure(let rejection):
                outcomes[position] = .rejected(reason: rejection.reason.rawValue, detail: rejection.detail)
            }
        }
        var applySeconds: Double?
        if !items.isEmpty {
            let started = ContinuousClock.now
            guard let applied = applyHoldingThroughOutages(items, messages: messages, stop: stop) else {
                // Stopping during a database outage: hand everything back for redelivery now.
                for message in messages + carried { try? nats.nak(message) }
                carried = []
                try? nats.flush()
                observer.settled(
                    role: configuration.role, acked: 0, naked: messages.count, deadLettered: [], applySeconds: nil)
                return
            }
            applySeconds = (ContinuousClock.now - started).seconds
            for (offset, outcome) in applied.enumerated() {
                outcomes[itemPositions[offset]] = MessageOutcome(outcome)
            }
        }
        settle(messages, outcomes, applySeconds: applySeconds, stop: stop)
    }

    /// Applies the batch. A database outage (lost connection, server down) is not the messages'
    /// fault and must not spend their delivery budget: hold the batch, keep the messages alive with
    /// in-progress acks, reconnect with backoff and retry, for as long as it takes. Returns nil
    /// only when shutdown is requested during an outage.
    func applyHoldingThroughOutages(
        _ items: [BatchItem], messages: [JetStreamMessage], stop: StopSignal
    ) -> [ApplyOutcome]? {
        var serializationRetries = 0
        var backoff = Backoff()
        var lastKeepAlive = ContinuousClock.now
        var inOutage = false
        while true {
            do {
                let connection = try connectedDatabase()
                let outcomes = try applyIsolatingPoison(items, on: connection)
                if inOutage {
                    logger.notice("PostgreSQL reachable again; batch applied")
                    observer.database(connected: true, reconnected: true)
                }
                return outcomes
            } catch {
                switch error.category {
                case .retryable:
                    serializationRetries += 1
                    if serializationRetries <= Self.maxSerializationRetries {
                        Thread.sleep(forTimeInterval: Double.random(in: 0.001...0.02) * Double(serializationRetries))
                        continue
                    }
                    return items.map { _ in .retryLater(detail: "\(error)") }
                case .connection, .badData, .other:
                    // .badData cannot reach here (isolated per message); .other is e.g. a missing
                    // table: wait for an operator like for an outage, loudly.
                    if !inOutage {
                        logger.error("PostgreSQL unavailable; holding the batch", metadata: ["error": "\(error)"])
                        observer.database(connected: false, reconnected: false)
                        inOutage = true
                    }
                    database?.close()
                    database = nil
                    // Messages an open pull request delivered meanwhile wait with the batch: keep
                    // them alive too, or their ack wait would spend their deliveries.
                    carried += (try? consumer.takeDelivered()) ?? []
                    if ContinuousClock.now - lastKeepAlive >= configuration.ackWait / 3 {
                        for message in messages + carried { try? nats.inProgress(message) }
                        try? nats.flush()
                        lastKeepAlive = ContinuousClock.now
                    }
                    if stop.sleep(min(backoff.next(), configuration.ackWait / 3)) { return nil }
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
            return try applier.apply(items, on: connection)
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
        let connection = try PostgresConnection(conninfo: configuration.databaseURL)
        database = connection
        return connection
    }

    // MARK: - Settling

    func settle(_ messages: [JetStreamMessage], _ outcomes: [MessageOutcome], applySeconds: Double?, stop: StopSignal) {
        var acked = 0
        var naked = 0
        var deadLettered: [String] = []
        for (message, outcome) in zip(messages, outcomes) {
            let settlement = configuration.settlement.settle(
                outcome, deliveryCount: message.metadata.deliveryCount, unitRandom: Double.random(in: 0..<1))
            do {
                switch settlement {
                case .ack:
                    try nats.ack(message)
                    acked += 1
                case .nak(let delay):
                    try nats.nak(message, delay: delay)
                    naked += 1
                    logger.debug(
                        "message will be redelivered",
                        metadata: metadata(of: message).merging(["delay_ms": "\(delay.components.seconds * 1000)"]) {
                            $1
                        })
                case .deadLetter(let reason, let detail):
                    if try deadLetter(message, reason: reason, detail: detail, stop: stop) {
                        deadLettered.append(reason)
                    } else {
                        naked += 1
                    }
                }
            } catch {
                // The connection is closed: unsettled messages come back after ack wait, and the
                // ledger makes their second application impossible.
                logger.warning("settling failed", metadata: metadata(of: message).merging(["error": "\(error)"]) { $1 })
            }
        }
        do {
            try nats.flush()
        } catch {
            logger.warning(
                "flushing acks failed; unacked messages will be redelivered", metadata: ["error": "\(error)"])
        }
        observer.settled(
            role: configuration.role, acked: acked, naked: naked, deadLettered: deadLettered, applySeconds: applySeconds
        )
    }

    /// Publishes the dead letter, waits for JetStream's PubAck, then terms the original. Retries
    /// the publish while NATS is unreachable; if shutdown comes first, naks instead (never terms a
    /// message whose dead letter is not stored). Returns whether it was dead-lettered.
    private func deadLetter(
        _ message: JetStreamMessage, reason: String, detail: String, stop: StopSignal
    ) throws(NATSError) -> Bool {
        let letter = DeadLetter.message(for: message, reason: reason, detail: detail)
        var backoff = Backoff()
        while true {
            do {
                _ = try nats.publish(subject: letter.subject, headers: letter.headers, body: letter.body)
                break
            } catch {
                logger.warning(
                    "publishing a dead letter failed; retrying",
                    metadata: metadata(of: message).merging(["error": "\(error)"]) { $1 })
                try? nats.inProgress(message)
                if stop.sleep(backoff.next()) {
                    try nats.nak(message)
                    return false
                }
            }
        }
        try nats.term(message)
        logger.warning(
            "message dead-lettered",
            metadata: metadata(of: message).merging([
                "reason": "\(reason)", "detail": "\(DeadLetter.headerLine(detail))",
            ]) { $1 })
        return true
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

extension MessageOutcome {
    init(_ outcome: ApplyOutcome) {
        switch outcome {
        case .applied: self = .applied
        case .duplicate: self = .duplicate
        case .rejected(let reason, let detail): self = .rejected(reason: reason.rawValue, detail: detail)
        case .retryLater(let detail): self = .retryLater(detail: detail)
        }
    }
}

/// W3C trace context: `traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`.
public enum TraceContext {
    public static func traceID(fromTraceparent header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: "-")
        guard parts.count >= 4, parts[1].count == 32, parts[1].allSatisfy(\.isHexDigit),
            parts[1] != "00000000000000000000000000000000"
        else { return nil }
        return parts[1].lowercased()
    }
}

/// Exponential backoff with jitter: 250 ms doubling to 10 s.
public struct Backoff: Sendable {
    private var attempt = 0
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .milliseconds(250), cap: Duration = .seconds(10)) {
        self.base = base
        self.cap = cap
    }

    public mutating func next() -> Duration {
        defer { attempt += 1 }
        let ceiling = min(cap, base * (1 << min(attempt, 16)))
        return ceiling * Double.random(in: 0.5...1.0)
    }
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
