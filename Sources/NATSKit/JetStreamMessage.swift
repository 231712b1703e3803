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
            // Split on bytes, parse numbers from bytes: this runs for every delivered message.
            let tokens = ackSubject.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            guard tokens.count >= 9, tokens[0].elementsEqual("$JS".utf8), tokens[1].elementsEqual("ACK".utf8)
            else { return nil }
            let base: Int
            switch tokens.count {
            case 9: base = 2
            case 11...: base = 4
            default: return nil
            }
            guard let delivered = Self.number(tokens[base + 2]), let streamSeq = Self.number(tokens[base + 3]),
                let consumerSeq = Self.number(tokens[base + 4]), let timestamp = Self.number(tokens[base + 5]),
                let pending = Self.number(tokens[base + 6]), delivered <= UInt64(Int.max),
                timestamp <= UInt64(Int64.max)
            else { return nil }
            stream = String(Substring(tokens[base]))
            consumer = String(Substring(tokens[base + 1]))
            deliveryCount = Int(delivered)
            streamSequence = streamSeq
            consumerSequence = consumerSeq
            timestampNanos = Int64(timestamp)
            self.pending = pending
        }

        /// An unsigned decimal, or nil (empty, a sign, any other byte, overflow).
        private static func number(_ digits: Substring.UTF8View) -> UInt64? {
            guard !digits.isEmpty else { return nil }
            var value: UInt64 = 0
            for byte in digits {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
                if overflow1 || overflow2 { return nil }
                value = sum
            }
            return value
        }
    }

    /// The subject the producer published to (e.g. `feedback.reward`).
    public var subject: String
    public var headers: NATSHeaders
    public var body: [UInt8]
    public var metadata: Metadata
    /// Where acks go; opaque to callers, used by `NATSConnection.ack` and friends.
    public let ackSubject: String

    /// A message as a consumer would deliver it; nil unless `ackSubject` is a JetStream ack
    /// subject. (For tools and tests; the pull consumer builds them from what it receives.)
    public init?(subject: String, headers: NATSHeaders = NATSHeaders(), body: [UInt8], ackSubject: String) {
        guard let metadata = Metadata(ackSubject: ackSubject) else { return nil }
        self.subject = subject
        self.headers = headers
        self.body = body
        self.metadata = metadata
        self.ackSubject = ackSubject
    }

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
