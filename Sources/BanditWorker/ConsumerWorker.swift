import BanditCore
import BanditStore
import Foundation
import Logging
import NATSKit
import PostgresKit

/// One worker on one durable consumer: fetch → decode → apply (one transaction) → settle.
/// A fetch thread (`BatchFetcher`) pulls and decodes the next batch while the apply lanes
/// commit; it splits each batch by user (`ApplyLanes`) so that the lanes — each a thread with its
/// own PostgreSQL session (`ApplyLane`) — touch disjoint rows and commit side by side. Shares the
/// NATS connection (which is thread-safe).
///
/// The path of one message, file by file: `PullConsumer.fetch` (NATSKit, via `BatchFetcher`) →
/// `EventDecoder.decode` (BanditCore) → `ApplyLane.process` → `BatchApplier.apply` (BanditStore)
/// → `SettlementPolicy.settle` → `NATSConnection.ack` / `nak` / `DeadLetterBacklog`.
public final class ConsumerWorker {
    public struct Configuration: Sendable {
        public var role: ConsumerRole
        public var stream: String
        public var consumer: String
        public var workerIndex: Int
        /// Messages per transaction; a fetch asks for `batchSize × lanes`.
        public var batchSize: Int
        /// Apply lanes (transactions in flight) of this worker.
        public var lanes: Int
        public var maxWait: Duration
        public var ackWait: Duration
        public var databaseURL: String
        public var settlement: SettlementPolicy
        /// Per session: a statement waiting this long for a row lock fails (and the batch is held
        /// and retried), so a lock held elsewhere cannot stall the worker unboundedly.
        public var lockTimeout: Duration
        /// Per session: a statement running this long is cancelled (and retried).
        public var statementTimeout: Duration

        public init(
            role: ConsumerRole, stream: String, consumer: String, workerIndex: Int = 0, batchSize: Int, lanes: Int = 1,
            maxWait: Duration, ackWait: Duration, databaseURL: String, settlement: SettlementPolicy,
            lockTimeout: Duration? = nil, statementTimeout: Duration? = nil
        ) {
            precondition(lanes > 0, "a worker needs at least one apply lane")
            self.role = role
            self.stream = stream
            self.consumer = consumer
            self.workerIndex = workerIndex
            self.batchSize = batchSize
            self.lanes = lanes
            self.maxWait = maxWait
            self.ackWait = ackWait
            self.databaseURL = databaseURL
            self.settlement = settlement
            self.lockTimeout = lockTimeout ?? ackWait / 6
            self.statementTimeout = statementTimeout ?? ackWait / 3
        }

        /// The loop name of an apply lane for the watchdog, health and metrics: lanes are
        /// numbered across the consumer's workers (`feedback-0`, `feedback-1`, …).
        public func laneLoop(_ lane: Int) -> String { "\(role.rawValue)-\(workerIndex * lanes + lane)" }

        /// Every loop of this worker: its lanes, then its fetch loop.
        public var loops: [String] { (0..<lanes).map(laneLoop) + [fetchLoop] }

        /// The fetch loop's name (`feedback-fetch-0`).
        public var fetchLoop: String { "\(role.rawValue)-fetch-\(workerIndex)" }
    }

    private let configuration: Configuration
    private let observer: any WorkerObserver
    private let fetcher: BatchFetcher
    private let lanes: [ApplyLane]

    /// Binds the consumer (it must exist: `streams ensure`) and connects every lane to PostgreSQL.
    public init(
        configuration: Configuration, nats: NATSConnection, decoder: EventDecoder, observer: any WorkerObserver,
        logger: Logger
    ) throws {
        self.configuration = configuration
        self.observer = observer
        var logger = logger
        logger[metadataKey: "consumer"] = "\(configuration.consumer)"
        logger[metadataKey: "worker"] = "\(configuration.workerIndex)"
        let keepAliveInterval = OutageHold.Policy(ackWait: configuration.ackWait).keepAliveInterval
        fetcher = BatchFetcher(
            consumer: try PullConsumer(
                connection: nats, stream: configuration.stream, consumer: configuration.consumer),
            nats: nats, decoder: decoder, batchSize: configuration.batchSize * configuration.lanes,
            maxWait: configuration.maxWait, keepAliveInterval: keepAliveInterval, loop: configuration.fetchLoop,
            observer: observer, logger: logger)
        lanes = try (0..<configuration.lanes).map { lane in
            try ApplyLane(
                configuration: configuration, lane: lane, nats: nats, policies: decoder.policies,
                observer: observer, logger: logger)
        }
    }

    /// Processes until `stop` is requested, then settles what was fetched and returns. Throws
    /// only on a failure no retry can fix (the consumer was deleted). Lane 0 runs on the calling
    /// thread; the fetch loop and the other lanes on threads of their own.
    public func run(stop: StopSignal) throws {
        let fetcher = self.fetcher
        let handoffs = lanes.map(\.handoff)
        let done = DispatchGroup()
        func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
            done.enter()
            let thread = Thread {
                body()
                done.leave()
            }
            thread.name = name
            thread.stackSize = 4 << 20
            thread.start()
        }
        start("banditd-\(configuration.fetchLoop)") { fetcher.run(into: handoffs, stop: stop) }
        for lane in lanes.dropFirst() {
            nonisolated(unsafe) let lane = lane  // from here on used by its thread only
            start("banditd-\(lane.loop)") { lane.run(stop: stop) }
        }
        lanes[0].run(stop: stop)
        done.wait()
        if let error = fetcher.fatalError { throw error }
    }
}

extension MessageOrigin {
    init(_ message: JetStreamMessage) {
        self.init(
            subject: message.subject, stream: message.metadata.stream,
            streamSequence: message.metadata.streamSequence, deliveries: message.metadata.deliveryCount,
            headers: message.headers.map { (name: $0.name, value: $0.value) }, body: message.body)
    }
}

extension MessageOutcome {
    init(_ outcome: ApplyOutcome) {
        switch outcome {
        case .applied, .appliedLate: self = .applied
        case .duplicate: self = .duplicate
        case .parked: self = .parked
        case .rejected(let reason, let detail): self = .rejected(reason: reason, detail: detail)
        case .retryLater(let detail): self = .retryLater(detail: detail)
        }
    }
}
