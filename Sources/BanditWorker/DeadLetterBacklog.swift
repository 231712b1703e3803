import BanditCore
import Foundation
import Logging
import NATSKit

/// Messages whose dead letter could not be stored yet, set aside so they never block the
/// messages behind them. Each is kept alive (`+WPI` every ack wait / 3, so it neither spends its
/// deliveries nor comes back to another worker) and retried with backoff: transient failures
/// from 1 s, permanent ones (DEADLETTER full or gone) from 5 s, both doubling to a minute. Once
/// the dead letter is stored the original is termed. Owned by one worker thread.
final class DeadLetterBacklog {
    struct Entry {
        var message: JetStreamMessage
        var reason: RejectionReason
        var detail: String
        var attempts: Int
        var nextAttempt: ContinuousClock.Instant
        var lastKeepAlive: ContinuousClock.Instant
    }

    private let nats: NATSConnection
    private let publisher: DeadLetterPublisher
    private let keepAliveInterval: Duration
    private let logger: Logger
    private(set) var entries: [Entry] = []
    /// The last failure while entries wait, for health and metrics.
    private(set) var lastFailure: DeadLetterPublisher.Failure?

    init(nats: NATSConnection, keepAliveInterval: Duration, logger: Logger) {
        self.nats = nats
        self.publisher = DeadLetterPublisher(nats: nats)
        self.keepAliveInterval = keepAliveInterval
        self.logger = logger
    }

    var count: Int { entries.count }

    /// What became of one attempt.
    enum Attempt {
        case stored(DeadLetterPublisher.Stored)
        case setAside(DeadLetterPublisher.Failure)
    }

    /// Publishes the dead letter now; on success terms the original, on failure sets it aside.
    func deadLetter(_ message: JetStreamMessage, reason: RejectionReason, detail: String) -> Attempt {
        let now = ContinuousClock.now
        do {
            let stored = try publisher.publish(DeadLetterOriginal(message), reason: reason, detail: detail)
            try? nats.term(message)
            return .stored(stored)
        } catch {
            lastFailure = error
            entries.append(
                Entry(
                    message: message, reason: reason, detail: detail, attempts: 1,
                    nextAttempt: now + Self.delay(attempt: 1, permanent: error.isPermanent), lastKeepAlive: now))
            logger.error(
                "dead letter not stored; the message is set aside and retried while others go on",
                metadata: [
                    "subject": "\(message.subject)", "stream_seq": "\(message.metadata.streamSequence)",
                    "reason": "\(reason)", "error": "\(error)", "set_aside": "\(entries.count)",
                ])
            return .setAside(error)
        }
    }

    /// Retries what is due and keeps the rest alive. Returns the dead letters stored now.
    func service(now: ContinuousClock.Instant = .now) -> [(reason: RejectionReason, stored: DeadLetterPublisher.Stored)]
    {
        guard !entries.isEmpty else { return [] }
        var stored: [(reason: RejectionReason, stored: DeadLetterPublisher.Stored)] = []
        var remaining: [Entry] = []
        for var entry in entries {
            if now >= entry.nextAttempt {
                do {
                    let result = try publisher.publish(
                        DeadLetterOriginal(entry.message), reason: entry.reason, detail: entry.detail)
                    try? nats.term(entry.message)
                    stored.append((entry.reason, result))
                    continue
                } catch {
                    lastFailure = error
                    entry.attempts += 1
                    entry.nextAttempt = now + Self.delay(attempt: entry.attempts, permanent: error.isPermanent)
                    if entry.attempts.nonzeroBitCount == 1 {  // log at attempts 2, 4, 8, …
                        logger.error(
                            "dead letter still not stored",
                            metadata: [
                                "stream_seq": "\(entry.message.metadata.streamSequence)",
                                "attempts": "\(entry.attempts)",
                                "error": "\(error)",
                            ])
                    }
                }
            }
            if now - entry.lastKeepAlive >= keepAliveInterval {
                try? nats.inProgress(entry.message)
                entry.lastKeepAlive = now
            }
            remaining.append(entry)
        }
        entries = remaining
        if entries.isEmpty {
            if lastFailure != nil { logger.notice("dead letters stored again; nothing set aside") }
            lastFailure = nil
        }
        return stored
    }

    /// Shutdown: hand what is still set aside back for redelivery.
    func abandon() {
        for entry in entries { try? nats.nak(entry.message) }
        entries = []
    }

    static func delay(attempt: Int, permanent: Bool) -> Duration {
        let base: Duration = permanent ? .seconds(5) : .seconds(1)
        return min(.seconds(60), base * (1 << min(attempt - 1, 10)))
    }
}
