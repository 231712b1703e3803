/// A message delivered by a JetStream pull consumer, with what its ack subject tells.
public struct JetStreamMessage: Sendable {
    public struct Metadata: Sendable, Equatable {
        public var stream: String
        public var consumer: String
        /// 1 on first delivery; compared with max_deliver by the daemon itself.
        public var deliveryCount: Int
        public var streamSequence: UInt64
        public var consumerSequence: UInt64
        /// Nanoseconds since the epoch when the stream stored the message.
        public var timestampNanos: Int64
        /// Messages left for this consumer after this one.
        public var pending: UInt64

        /// Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` and the
        /// 2.10+ form with domain and account hash (`$JS.ACK.<domain>.<hash>.<stream>…<pending>.<token>`).
        public init?(ackSubject: String) {
            let tokens = ackSubject.split(separator: ".", omittingEmptySubsequences: false)
            guard tokens.count >= 9, tokens[0] == "$JS", tokens[1] == "ACK" else { return nil }
            let base: Int
            switch tokens.count {
            case 9: base = 2
            case 11...: base = 4
            default: return nil
            }
            guard let delivered = Int(tokens[base + 2]), let streamSeq = UInt64(tokens[base + 3]),
                let consumerSeq = UInt64(tokens[base + 4]), let timestamp = Int64(tokens[base + 5]),
                let pending = UInt64(tokens[base + 6])
            else { return nil }
            stream = String(tokens[base])
            consumer = String(tokens[base + 1])
            deliveryCount = delivered
            streamSequence = streamSeq
            consumerSequence = consumerSeq
            timestampNanos = timestamp
            self.pending = pending
        }
    }

    /// The subject the producer published to (e.g. `feedback.reward`).
    public var subject: String
    public var headers: NATSHeaders
    public var body: [UInt8]
    public var metadata: Metadata
    /// Where acks go; opaque to callers, used by `NATSConnection.ack` and friends.
    public let ackSubject: String

    init?(_ message: NATSMessage) {
        guard let reply = message.replySubject, let metadata = Metadata(ackSubject: reply) else { return nil }
        subject = message.subject
        headers = message.headers
        body = message.body
        self.metadata = metadata
        ackSubject = reply
    }
}

/// Settling delivered messages: the JetStream ack protocol, published on the core connection.
/// These are fire-and-forget; call `flush()` after a batch of them to know they reached the
/// server (a late or lost ack only causes a redelivery, which the ledger makes harmless).
extension NATSConnection {
    /// Done: the server will not deliver it again.
    public func ack(_ message: JetStreamMessage) throws(NATSError) {
        try publishCore(subject: message.ackSubject, body: Array("+ACK".utf8))
    }

    /// Redeliver after `delay` (zero: as soon as possible). Counts against max_deliver.
    public func nak(_ message: JetStreamMessage, delay: Duration = .zero) throws(NATSError) {
        let body = delay > .zero ? "-NAK {\"delay\":\(delay.natsNanoseconds)}" : "-NAK"
        try publishCore(subject: message.ackSubject, body: Array(body.utf8))
    }

    /// Never redeliver (after it was dead-lettered).
    public func term(_ message: JetStreamMessage) throws(NATSError) {
        try publishCore(subject: message.ackSubject, body: Array("+TERM".utf8))
    }

    /// Still working: resets the ack-wait timer.
    public func inProgress(_ message: JetStreamMessage) throws(NATSError) {
        try publishCore(subject: message.ackSubject, body: Array("+WPI".utf8))
    }
}
