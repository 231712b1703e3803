import BanditCore
import NATSKit

/// The message a dead letter is made from: a delivered message, a parked reward, or a message
/// read back from its stream after the server gave up on it.
public struct DeadLetterOriginal: Sendable {
    public var subject: String
    public var headers: NATSHeaders
    public var body: [UInt8]
    public var stream: String
    public var streamSequence: UInt64
    public var deliveries: Int

    public init(
        subject: String, headers: NATSHeaders, body: [UInt8], stream: String, streamSequence: UInt64, deliveries: Int
    ) {
        self.subject = subject
        self.headers = headers
        self.body = body
        self.stream = stream
        self.streamSequence = streamSequence
        self.deliveries = deliveries
    }

    public init(_ message: JetStreamMessage) {
        self.init(
            subject: message.subject, headers: message.headers, body: message.body, stream: message.metadata.stream,
            streamSequence: message.metadata.streamSequence, deliveries: message.metadata.deliveryCount)
    }
}

/// The dead letter of a message: the original body byte for byte, on `deadletter.{subject}`,
/// with the headers of CONTRACT section 3. Original headers are kept, except that the original
/// `Nats-Msg-Id` moves to `Deadletter-Original-Msg-Id` (the dead letter's own id makes a
/// re-published dead letter a JetStream duplicate rather than a second copy).
///
/// When body + headers would exceed the server's max_payload, the dead letter is stored without
/// the body and says so in `Deadletter-Body-Omitted: {size}`; the original stays readable at
/// `Deadletter-Stream`/`Deadletter-Seq` until the stream's max_age.
public enum DeadLetter {
    public static let subjectPrefix = "deadletter."
    /// Header values are one line; a very long detail is cut (the body keeps everything).
    static let maxDetailCharacters = 1024

    public static func message(
        for original: JetStreamMessage, reason: RejectionReason, detail: String, maxPayload: Int = .max
    ) -> NATSConnection.OutgoingMessage {
        message(for: DeadLetterOriginal(original), reason: reason, detail: detail, maxPayload: maxPayload)
    }

    public static func message(
        for original: DeadLetterOriginal, reason: RejectionReason, detail: String, maxPayload: Int = .max
    ) -> NATSConnection.OutgoingMessage {
        var headers = NATSHeaders()
        let replayOf = DeadLetterArchive.originalMessageIDHeader
        for field in original.headers where field.name != "Nats-Msg-Id" && field.name != replayOf {
            headers.add(field.name, field.value)
        }
        // A replay (`dlq replay`) carries the producer's id; it wins over the replay's own id.
        if let originalID = original.headers[replayOf] ?? original.headers["Nats-Msg-Id"],
            original.headers["Deadletter-Original-Msg-Id"] == nil
        {
            headers.add("Deadletter-Original-Msg-Id", originalID)
        }
        headers.set("Deadletter-Reason", reason.rawValue)
        headers.set("Deadletter-Detail", headerLine(detail))
        headers.set("Deadletter-Stream", original.stream)
        headers.set("Deadletter-Seq", String(original.streamSequence))
        headers.set("Deadletter-Deliveries", String(original.deliveries))
        headers.set("Deadletter-Subject", original.subject)
        headers.set("Nats-Msg-Id", "dl-\(original.stream)-\(original.streamSequence)")
        var body = original.body
        if headerBlockSize(headers) + body.count > maxPayload {
            headers.set("Deadletter-Body-Omitted", String(body.count))
            body = []
        }
        return NATSConnection.OutgoingMessage(subject: subjectPrefix + original.subject, headers: headers, body: body)
    }

    /// The bytes of a NATS header block: `NATS/1.0\r\n`, `Name: value\r\n` per field, `\r\n`.
    static func headerBlockSize(_ headers: NATSHeaders) -> Int {
        headers.reduce(12) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
    }

    /// One header line: control characters become spaces, length capped.
    static func headerLine(_ text: String) -> String {
        var line = String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { scalar in
                    scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}"
                        ? " " : scalar
                }))
        if line.count > maxDetailCharacters { line = String(line.prefix(maxDetailCharacters - 1)) + "…" }
        return line
    }
}
