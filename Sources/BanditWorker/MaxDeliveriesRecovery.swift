import BanditCore
import Foundation
import Logging
import NATSKit
import PostgresKit

/// Dead-letters the messages whose deliveries ran out while no daemon was processing them
/// (crash loops, kill -9, a supervisor's restarts): the server then gives up silently, except
/// for a max-deliveries advisory, which `streams ensure`'s capture stream keeps. For each one
/// this job reads the original by its stream sequence, and — unless its event is in the ledger
/// (applied, or parked) — stores it in DEADLETTER, body byte for byte, reason `max_deliveries`,
/// under `Nats-Msg-Id: dl-{stream}-{seq}` (so two daemons store it once), before it acks the
/// advisory. Blocks its thread in `run`; every daemon runs one, the consumer shares the work.
public final class MaxDeliveriesRecovery {
    public struct Configuration: Sendable {
        public var stream: String
        public var consumer: String
        public var databaseURL: String
        public var statementTimeout: Duration

        public init(stream: String, consumer: String, databaseURL: String, statementTimeout: Duration = .seconds(10)) {
            self.stream = stream
            self.consumer = consumer
            self.databaseURL = databaseURL
            self.statementTimeout = statementTimeout
        }
    }

    /// What the server publishes (`io.nats.jetstream.advisory.v1.max_deliver`).
    struct Advisory: Decodable {
        var stream: String
        var consumer: String
        var streamSequence: UInt64
        var deliveries: Int

        enum CodingKeys: String, CodingKey {
            case stream, consumer, deliveries
            case streamSequence = "stream_seq"
        }
    }

    public static let loop = "max-deliveries"

    private let configuration: Configuration
    private let nats: NATSConnection
    private let decoder: EventDecoder
    private let publisher: DeadLetterPublisher
    private let observer: any WorkerObserver
    private let logger: Logger
    private var consumer: PullConsumer?
    private let session: JobSession

    public init(
        configuration: Configuration, nats: NATSConnection, decoder: EventDecoder, observer: any WorkerObserver,
        logger: Logger
    ) {
        self.configuration = configuration
        session = JobSession(databaseURL: configuration.databaseURL, statementTimeout: configuration.statementTimeout)
        self.nats = nats
        self.decoder = decoder
        self.publisher = DeadLetterPublisher(nats: nats)
        self.observer = observer
        var logger = logger
        logger[metadataKey: "job"] = "\(Self.loop)"
        self.logger = logger
    }

    public func run(stop: StopSignal) {
        defer {
            consumer?.close()
            session.reset()
            observer.loopEnded(Self.loop)
        }
        var backoff = Backoff(base: .seconds(1), cap: .seconds(30))
        while !stop.isRequested {
            observer.loopBeat(Self.loop)
            let advisories: [JetStreamMessage]
            do throws(NATSError) {
                let bound: PullConsumer
                if let consumer {
                    bound = consumer
                } else {
                    bound = try PullConsumer(
                        connection: nats, stream: configuration.stream, consumer: configuration.consumer)
                    consumer = bound
                }
                advisories = try bound.fetch(maxMessages: 64, maxWait: .seconds(1))
            } catch {
                if case .pullStatus = error.origin {
                    consumer?.close()
                    consumer = nil
                }
                logger.error(
                    "the max-deliveries consumer cannot be read; retrying (does `banditd streams ensure` pass?)",
                    metadata: ["error": "\(error)"])
                _ = stop.sleep(backoff.next())
                continue
            }
            var waiting = 0
            var failure: String?
            for advisory in advisories {
                observer.loopBeat(Self.loop)
                switch handle(advisory) {
                case .done:
                    try? nats.ack(advisory)
                    backoff = Backoff(base: .seconds(1), cap: .seconds(30))
                case .retryLater(let reason):
                    waiting += 1
                    failure = reason
                    try? nats.nak(advisory, delay: backoff.next())
                case .malformed:
                    try? nats.term(advisory)
                }
            }
            observer.deadLettersWaiting(role: .feedback, loop: Self.loop, count: waiting, failure: failure)
        }
        try? nats.flush()
    }

    enum Handled: Equatable {
        case done
        case retryLater(String)
        case malformed
    }

    func handle(_ message: JetStreamMessage) -> Handled {
        guard let advisory = try? JSONDecoder().decode(Advisory.self, from: Data(message.body)) else {
            logger.error(
                "a max-deliveries advisory could not be read; dropped", metadata: ["subject": "\(message.subject)"])
            return .malformed
        }
        let stored: StoredMessage
        do {
            guard let found = try nats.getMessage(stream: advisory.stream, sequence: advisory.streamSequence) else {
                logger.error(
                    "a message whose deliveries ran out is no longer in its stream: it cannot be dead-lettered",
                    metadata: ["stream": "\(advisory.stream)", "stream_seq": "\(advisory.streamSequence)"])
                return .done
            }
            stored = found
        } catch {
            return .retryLater("reading \(advisory.stream)/\(advisory.streamSequence) failed: \(error)")
        }
        let decoded = decoder.decode(subject: stored.subject, headers: [:], body: stored.body, now: Date())
        if case .success(let event) = decoded {
            do {
                if try isInLedger(event.eventID) {
                    logger.info(
                        "deliveries ran out for a message whose event is applied (or parked): nothing to do",
                        metadata: ["stream": "\(advisory.stream)", "stream_seq": "\(advisory.streamSequence)"])
                    return .done
                }
            } catch {
                session.reset()
                return .retryLater("the ledger could not be read: \(error)")
            }
        }
        var detail =
            "deliveries ran out (\(advisory.deliveries)) while no daemon settled it; recovered from the server's max-deliveries advisory"
        if case .failure(let rejection) = decoded {
            detail += "; it is also \(rejection.reason.rawValue): \(rejection.detail)"
        }
        let original = DeadLetterOriginal(
            subject: stored.subject, headers: stored.headers, body: stored.body, stream: advisory.stream,
            streamSequence: advisory.streamSequence, deliveries: advisory.deliveries)
        do {
            let result = try publisher.publish(original, reason: .maxDeliveries, detail: detail)
            logger.warning(
                "message dead-lettered after its deliveries ran out unseen",
                metadata: [
                    "subject": "\(stored.subject)", "stream_seq": "\(advisory.streamSequence)",
                    "deliveries": "\(advisory.deliveries)", "duplicate": "\(result.ack.duplicate)",
                ])
            if !result.ack.duplicate {
                var settled = SettledBatch()
                settled.deadLettered = [.maxDeliveries]
                observer.settled(
                    role: ConsumerRole(stream: advisory.stream) ?? .feedback, loop: Self.loop, outcome: settled)
            }
            return .done
        } catch {
            return .retryLater("\(error)")
        }
    }

    private func isInLedger(_ eventID: UUID) throws(PostgresError) -> Bool {
        let result = try session.connected().query(
            "SELECT count(*) FROM processed_events WHERE event_id = $1", values: [.uuid(eventID)])
        return try result.int64(0, 0) > 0
    }
}
