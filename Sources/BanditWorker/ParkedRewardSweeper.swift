import BanditCore
import BanditStore
import Foundation
import Logging
import NATSKit
import PostgresKit

/// The background job behind early rewards (CONTRACT section 3, v1.1): every `interval` it
/// applies parked rewards whose decision has arrived, and dead-letters those with a verdict and
/// those parked longer than `early_reward_wait_s` — but never while this daemon's signals
/// consumer is held by an outage (the decision may be stuck behind it). Every daemon runs one;
/// `FOR UPDATE SKIP LOCKED` shares the rows between them. Blocks its thread in `run`.
public final class ParkedRewardSweeper {
    public struct Configuration: Sendable {
        public var databaseURL: String
        public var policies: PolicyRegistry
        public var earlyRewardWait: Duration
        public var interval: Duration
        /// Rows per transaction.
        public var slice: Int
        public var statementTimeout: Duration

        public init(
            databaseURL: String, policies: PolicyRegistry, earlyRewardWait: Duration, interval: Duration = .seconds(1),
            slice: Int = 256,
            statementTimeout: Duration = .seconds(10)
        ) {
            self.databaseURL = databaseURL
            self.policies = policies
            self.earlyRewardWait = earlyRewardWait
            self.interval = interval
            self.slice = slice
            self.statementTimeout = statementTimeout
        }
    }

    public static let loop = "parked-rewards"

    private let configuration: Configuration
    private let publisher: DeadLetterPublisher
    private let observer: any WorkerObserver
    private let signalsHeld: @Sendable () -> Bool
    private let logger: Logger
    private let store: ParkedRewardStore
    private let session: JobSession

    /// - Parameter signalsHeld: whether a signals worker of this daemon holds its batch now.
    public init(
        configuration: Configuration, nats: NATSConnection, observer: any WorkerObserver,
        signalsHeld: @escaping @Sendable () -> Bool, logger: Logger
    ) {
        self.configuration = configuration
        // Both timeouts: the job locks rows the workers write.
        session = JobSession(
            databaseURL: configuration.databaseURL, statementTimeout: configuration.statementTimeout,
            lockTimeout: configuration.statementTimeout)
        self.store = ParkedRewardStore(policies: configuration.policies)
        self.publisher = DeadLetterPublisher(nats: nats)
        self.observer = observer
        self.signalsHeld = signalsHeld
        var logger = logger
        logger[metadataKey: "job"] = "\(Self.loop)"
        self.logger = logger
    }

    public func run(stop: StopSignal) {
        defer {
            session.reset()
            observer.loopEnded(Self.loop)
        }
        var failures = 0
        repeat {
            observer.loopBeat(Self.loop)
            do {
                try sweep(stop: stop)
                if failures > 0 { logger.notice("parked rewards are swept again") }
                failures = 0
            } catch {
                failures += 1
                if DatabaseFailure(error) != .conflict {
                    session.reset()
                }
                if failures.nonzeroBitCount == 1 {  // 1, 2, 4, 8, … failures in a row
                    logger.error(
                        "sweeping parked rewards failed; retrying",
                        metadata: ["error": "\(error)", "failures": "\(failures)"])
                }
            }
        } while !stop.sleep(configuration.interval)
    }

    /// One sweep: join what can join (slice after slice), then dead-letter what is due.
    func sweep(stop: StopSignal) throws(PostgresError) {
        let connection = try session.connected()
        while !stop.isRequested {
            let (applied, refused) = try store.joinArrived(limit: configuration.slice, on: connection)
            observer.loopBeat(Self.loop)
            if applied > 0 || refused > 0 {
                logger.debug("parked rewards joined", metadata: ["applied": "\(applied)", "refused": "\(refused)"])
            }
            if applied + refused < configuration.slice { break }
        }
        var failure: DeadLetterPublisher.Failure?
        var notStored = 0
        // Stored earlier (a sweep cut off before its commit): the row goes, the count does not.
        var duplicates: Set<UUID> = []
        let stored = try store.deadLetterDue(
            wait: configuration.earlyRewardWait, expireWaiting: !signalsHeld(), limit: configuration.slice,
            on: connection
        ) { (letter: ParkedRewardLetter) -> Bool in
            do throws(DeadLetterPublisher.Failure) {
                let result = try publisher.publish(
                    letter.original, reason: letter.reason, detail: letter.detail)
                logger.warning(
                    "parked reward dead-lettered",
                    metadata: [
                        "subject": "\(letter.subject)", "stream_seq": "\(letter.streamSequence)",
                        "reason": "\(letter.reason)", "detail": "\(DeadLetter.headerLine(letter.detail))",
                        "duplicate": "\(result.ack.duplicate)",
                    ])
                if result.ack.duplicate { duplicates.insert(letter.eventID) }
                return true
            } catch {
                failure = error
                notStored += 1
                return false
            }
        }
        let counted = stored.filter { !duplicates.contains($0.eventID) }
        if !counted.isEmpty {
            var settled = SettledBatch()
            settled.deadLettered = counted.map { $0.reason }
            observer.settled(role: .feedback, loop: Self.loop, outcome: settled)
        }
        observer.deadLettersWaiting(
            role: .feedback, loop: Self.loop, count: notStored, failure: failure.map { "\($0)" })
        if let failure {
            logger.error(
                "parked rewards could not be dead-lettered; they stay parked and are retried",
                metadata: ["error": "\(failure)", "not_stored": "\(notStored)"])
        }
    }

}

extension ParkedRewardLetter {
    var original: DeadLetterOriginal {
        var headers = NATSHeaders()
        for field in self.headers { headers.add(field.name, field.value) }
        return DeadLetterOriginal(
            subject: subject, headers: headers, body: body, stream: stream, streamSequence: streamSequence,
            deliveries: deliveries)
    }
}
