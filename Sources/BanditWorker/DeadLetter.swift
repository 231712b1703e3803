import NATSKit

/// The dead letter of a message: the original body byte for byte, on `deadletter.{subject}`,
/// with the headers of CONTRACT section 3. Original headers are kept, except that the original
/// `Nats-Msg-Id` moves to `Deadletter-Original-Msg-Id` (the dead letter's own id makes a
/// re-published dead letter a JetStream duplicate rather than a second copy).
public enum DeadLetter {
    public static let subjectPrefix = "deadletter."
    /// Header values are one line; a very long detail is cut (the body keeps everything).
    static let maxDetailCharacters = 1024

    public static func message(
        for original: JetStreamMessage, reason: String, detail: String
    ) -> NATSConnection.OutgoingMessage {
        var headers = NATSHeaders()
        let replayOf = DeadLetterArchive.originalMessageIDHeader
        for field in original.headers where field.name != "Nats-Msg-Id" && field.name != replayOf {
            headers.add(field.name, field.value)
        }
        // A replay (`dlq replay`) carries the producer's id; it wins over the replay's own id.
        if let originalID = original.headers[replayOf] ?? original.headers["Nats-Msg-Id"] {
            headers.add("Deadletter-Original-Msg-Id", originalID)
        }
        let metadata = original.metadata
        headers.set("Deadletter-Reason", reason)
        headers.set("Deadletter-Detail", headerLine(detail))
        headers.set("Deadletter-Stream", metadata.stream)
        headers.set("Deadletter-Seq", String(metadata.streamSequence))
        headers.set("Deadletter-Deliveries", String(metadata.deliveryCount))
        headers.set("Deadletter-Subject", original.subject)
        headers.set("Nats-Msg-Id", "dl-\(metadata.stream)-\(metadata.streamSequence)")
        return NATSConnection.OutgoingMessage(
            subject: subjectPrefix + original.subject, headers: headers, body: original.body)
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
