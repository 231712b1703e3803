import CNATS
import Foundation

/// Consumes a durable JetStream pull consumer with the pull protocol on a core subscription:
/// pull requests (`{"batch":n,"expires":ns}`) go to `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`
/// with a reply subject under our own inbox; messages and status answers come back on it.
///
/// Why not `natsSubscription_Fetch`: Debian's cnats 3.4.1 has two defects there (it can return
/// `NATS_TIMEOUT` at once on the next call, nats.c #631; and it can overflow its message array
/// when messages of an earlier timed-out pull are still buffered, nats.c #749). Here a message
/// from an earlier request is simply the next message of the next fetch.
///
/// Not Sendable: the subscription belongs to one owner (one worker thread). `fetch` blocks that
/// thread for at most `maxWait`, so call it from a thread of your own, not the Swift
/// concurrency pool.
public final class PullConsumer {
    public let stream: String
    public let consumer: String
    private let connection: NATSConnection
    private let inbox: String
    private var subscription: OpaquePointer?
    private var ledger = PullRequestLedger()
    private let clock = ContinuousClock()
    private let requestSubject: String

    /// Messages the client dropped because this subscription's buffer overflowed (they are
    /// redelivered after ack wait). Stays 0 unless batches are sized far beyond the buffer.
    public private(set) var slowConsumerEvents = 0

    /// Binds to an existing durable pull consumer. Fails if it does not exist or is a push
    /// consumer.
    public init(connection: NATSConnection, stream: String, consumer: String) throws(NATSError) {
        let info = try connection.consumerInfo(stream: stream, consumer: consumer)
        if let deliverSubject = info.config.deliverSubject {
            throw NATSError(
                operation: "bind consumer \(stream)/\(consumer)", origin: .malformedResponse,
                message: "is a push consumer (deliver_subject \(deliverSubject)); banditd needs a pull consumer")
        }
        self.connection = connection
        self.stream = stream
        self.consumer = consumer
        self.requestSubject = "\(NATSConnection.apiPrefix).CONSUMER.MSG.NEXT.\(stream).\(consumer)"
        self.inbox = try connection.makeInbox()
        var sub: OpaquePointer?
        try natsCheck(
            connection.withHandle { natsConnection_SubscribeSync(&sub, $0, "\(inbox).*") },
            "subscribe to pull inbox")
        subscription = sub
    }

    deinit { close() }

    /// Unsubscribes. Messages delivered but not settled are redelivered after ack wait.
    public func close() {
        guard let sub = subscription else { return }
        subscription = nil
        natsSubscription_Unsubscribe(sub)
        natsSubscription_Destroy(sub)
    }

    /// Returns up to `maxMessages` messages: as soon as `maxMessages` are in hand, or once at least
    /// one is in hand and no further one arrives within `linger`, or empty after `maxWait` with
    /// none. Under light load a message is returned the moment it arrives; under load batches fill.
    public func fetch(
        maxMessages: Int, maxWait: Duration, linger: Duration = .milliseconds(1)
    ) throws(NATSError) -> [JetStreamMessage] {
        precondition(maxMessages > 0, "fetch needs a positive batch size")
        let start = clock.now
        return try collect(
            PullFetch(
                maxMessages: maxMessages, deadline: start + maxWait, linger: linger,
                mode: .fetch(requestExpiry: max(maxWait, .milliseconds(10)))))
    }

    /// For shutdown: issues no new pull request and returns what the open ones still deliver,
    /// waiting until they end or `maxWait` passes, so nothing fetched is left unsettled.
    public func finish(maxWait: Duration) throws(NATSError) -> [JetStreamMessage] {
        var messages: [JetStreamMessage] = []
        let deadline = clock.now + maxWait
        while clock.now < deadline {
            ledger.prune(now: clock.now, connectionEpoch: connection.status.reconnects)
            let buffered = try collect(
                PullFetch(maxMessages: .max, deadline: deadline, linger: .milliseconds(20), mode: .finish))
            messages += buffered
            if ledger.open.isEmpty && buffered.isEmpty { break }
        }
        return messages
    }

    /// Takes the messages already delivered to us (by a pull request still open after the last
    /// fetch returned) without waiting and without asking for more. A worker holding a batch
    /// through an outage calls it to keep those messages alive too (`inProgress`) instead of
    /// letting their ack wait run out.
    public func takeDelivered() throws(NATSError) -> [JetStreamMessage] {
        guard let sub = subscription else { return [] }
        var taken: [JetStreamMessage] = []
        while true {
            var msg: OpaquePointer?
            let status = natsSubscription_NextMsg(&msg, sub, 0)
            guard status == NATS_OK, let msg else { break }
            let message = NATSMessage(consuming: msg)
            if let pullStatus = message.status {
                try handle(status: pullStatus, subject: message.subject)
            } else if let delivered = JetStreamMessage(message) {
                ledger.delivered()
                taken.append(delivered)
            }
        }
        return taken
    }

    /// Pull requests open at the server, as far as we know.
    public var openRequests: Int { ledger.open.count }

    /// Runs one fetch: the decisions are `PullFetch`'s, the I/O is here.
    private func collect(_ initial: PullFetch) throws(NATSError) -> [JetStreamMessage] {
        guard let sub = subscription else {
            throw NATSError(
                operation: "fetch from \(stream)/\(consumer)",
                origin: .library(status: NATS_INVALID_SUBSCRIPTION.rawValue),
                message: "consumer is closed")
        }
        var fetch = initial
        var batch: [JetStreamMessage] = []
        while true {
            let now = clock.now
            switch fetch.next(
                now: now, epoch: connection.status.reconnects, connected: connection.isConnected,
                buffered: Self.buffered(sub), ledger: &ledger)
            {
            case .sendPullRequest(let size, let expiresAt):
                try sendPullRequest(batch: size, expiresAt: expiresAt)
                continue
            case .deliver:
                return batch
            case .drainBuffered:
                return try drainBuffered(sub, into: batch, limit: fetch.maxMessages)
            case .wait(let until):
                var msg: OpaquePointer?
                let status = natsSubscription_NextMsg(&msg, sub, (until - now).natsMilliseconds)
                switch status {
                case NATS_OK:
                    let message = NATSMessage(consuming: msg!)
                    if let pullStatus = message.status {
                        try handle(status: pullStatus, subject: message.subject)
                    } else if let delivered = JetStreamMessage(message) {
                        batch.append(delivered)
                        if fetch.messageArrived(now: clock.now, ledger: &ledger) { return batch }
                    }
                case NATS_TIMEOUT:
                    if fetch.timedOut(now: clock.now) { return batch }
                case NATS_SLOW_CONSUMER:
                    slowConsumerEvents += 1
                default:
                    throw NATSError(library: status, operation: "fetch from \(stream)/\(consumer)")
                }
            }
        }
    }

    /// Messages delivered to the subscription and not yet taken (0 if cnats cannot say).
    private static func buffered(_ sub: OpaquePointer) -> Int {
        var messages: Int32 = 0
        var bytes: Int32 = 0
        guard natsSubscription_GetPending(sub, &messages, &bytes) == NATS_OK else { return 0 }
        return Int(messages)
    }

    private func drainBuffered(
        _ sub: OpaquePointer, into batch: [JetStreamMessage], limit: Int
    ) throws(NATSError) -> [JetStreamMessage] {
        var batch = batch
        while batch.count < limit {
            var msg: OpaquePointer?
            let status = natsSubscription_NextMsg(&msg, sub, 0)
            guard status == NATS_OK else { break }
            let message = NATSMessage(consuming: msg!)
            if message.status == nil, let delivered = JetStreamMessage(message) { batch.append(delivered) }
        }
        return batch
    }

    private func sendPullRequest(batch: Int, expiresAt: ContinuousClock.Instant) throws(NATSError) {
        let now = clock.now
        let expiry = expiresAt - now
        let id = ledger.issue(
            batch: batch, expiresAt: expiresAt, connectionEpoch: connection.status.reconnects, now: now)
        let request = "{\"batch\":\(batch),\"expires\":\(max(expiry, .milliseconds(1)).natsNanoseconds)}"
        do {
            try connection.publishCore(subject: requestSubject, reply: "\(inbox).\(id)", body: Array(request.utf8))
        } catch {
            ledger.ended(id: id)
            if !error.isTransient { throw error }
        }
    }

    private func handle(status: (code: Int, description: String), subject: String) throws(NATSError) {
        let id = subject.split(separator: ".").last.flatMap { UInt64($0) }
        let verdict = PullFetch.statusArrived(
            code: status.code, description: status.description, requestID: id, ledger: &ledger)
        if verdict == .fatal {
            // 400 Bad Request, 409 Consumer Deleted / Exceeded MaxRequestBatch …: a configuration
            // or topology problem, not something another pull fixes.
            throw NATSError(
                operation: "fetch from \(stream)/\(consumer)", origin: .pullStatus(code: status.code),
                message: "\(status.code) \(status.description)")
        }
    }

}
