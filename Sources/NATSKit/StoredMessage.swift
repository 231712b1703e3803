import Foundation

/// A message read from a stream by sequence with the JetStream message-get API — not delivered by
/// a consumer, so reading it neither consumes nor acks anything.
public struct StoredMessage: Sendable, Equatable {
    /// The subject it was published to (e.g. `deadletter.feedback.reward`).
    public var subject: String
    /// Its sequence in the stream.
    public var sequence: UInt64
    public var headers: NATSHeaders
    public var body: [UInt8]
    /// When the stream stored it, as the server wrote it (RFC 3339, UTC, up to nanoseconds).
    public var time: String

    public init(subject: String, sequence: UInt64, headers: NATSHeaders, body: [UInt8], time: String) {
        self.subject = subject
        self.sequence = sequence
        self.headers = headers
        self.body = body
        self.time = time
    }

    /// `time` as a `Date` (sub-microsecond digits are dropped), or nil if the server's text is not
    /// RFC 3339.
    public var storedAt: Date? { Self.parseTime(time) }

    static func parseTime(_ text: String) -> Date? {
        // "2026-11-26T10:30:00.123456789Z": whole seconds by the formatter, the fraction by hand
        // (ISO8601DateFormatter reads at most milliseconds).
        var whole = text
        var fraction = 0.0
        if let dot = text.firstIndex(of: ".") {
            let digitsEnd = text[dot...].dropFirst().firstIndex { !$0.isNumber } ?? text.endIndex
            fraction = Double("0" + text[dot..<digitsEnd]) ?? 0
            whole = String(text[..<dot] + text[digitsEnd...])
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: whole).map { $0.addingTimeInterval(fraction) }
    }

    /// Parses a NATS header block (`NATS/1.0\r\nName: value\r\n…\r\n\r\n`, as `hdrs` carries it).
    static func parseHeaderBlock(_ bytes: [UInt8]) -> NATSHeaders {
        NATSHeaders(headerBlock: bytes)
    }
}
