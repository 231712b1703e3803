import NATSKit

/// The DEADLETTER stream as operators see it: list dead letters without consuming them, and
/// replay them to their original subjects.
///
/// Reading uses the stream message-get API by sequence (`next_by_subj` walks `deadletter.>`):
/// no consumer is created, so listing changes nothing at the server, and two operators can list
/// at once.
///
/// Replay of one dead letter: publish the original body to `Deadletter-Subject` with the original
/// headers minus `Deadletter-*` and the original `Nats-Msg-Id`, under `Nats-Msg-Id: replay-{seq}`
/// (seq = the dead letter's sequence in DEADLETTER), await the PubAck, then delete the dead letter.
/// The producer's id travels along in `Banditd-Original-Msg-Id`, so a replay that is dead-lettered
/// again still names it in `Deadletter-Original-Msg-Id` (not `replay-{seq}`), however often it is
/// replayed.
/// Interrupted between the publish and the delete, the dead letter is still there and is replayed
/// again by the next run: inside the stream's duplicate window (2 min) JetStream drops the second
/// publish as a duplicate; after it, the copy is stored but its `event_id` is already in
/// `processed_events`, so it is acked without a second effect. Either way the event applies once.
public struct DeadLetterArchive {
    public static let stream = "DEADLETTER"
    public static let subjectFilter = "deadletter.>"

    /// One dead letter, decoded from its headers.
    public struct Entry: Sendable, Equatable {
        /// Sequence in the DEADLETTER stream.
        public var sequence: UInt64
        /// The subject the original was published to (`Deadletter-Subject`).
        public var originalSubject: String
        public var reason: String
        public var detail: String
        public var deliveries: Int?
        public var originalStream: String?
        public var originalSequence: UInt64?
        /// When DEADLETTER stored it (RFC 3339, from the server).
        public var storedAt: String
        public var message: StoredMessage

        init(_ message: StoredMessage) {
            let headers = message.headers
            sequence = message.sequence
            originalSubject =
                headers["Deadletter-Subject"]
                ?? (message.subject.hasPrefix(DeadLetter.subjectPrefix)
                    ? String(message.subject.dropFirst(DeadLetter.subjectPrefix.count)) : message.subject)
            reason = headers["Deadletter-Reason"] ?? ""
            detail = headers["Deadletter-Detail"] ?? ""
            deliveries = headers["Deadletter-Deliveries"].flatMap { Int($0) }
            originalStream = headers["Deadletter-Stream"]
            originalSequence = headers["Deadletter-Seq"].flatMap { UInt64($0) }
            storedAt = message.time
            self.message = message
        }
    }

    /// What replay did with one dead letter.
    public struct ReplayResult: Sendable, Equatable {
        public var entry: Entry
        /// Where the replay was stored (stream and sequence of the PubAck).
        public var pubAck: PubAck
        /// False if the dead letter had already been deleted by someone else meanwhile.
        public var deleted: Bool

        /// The `Nats-Msg-Id` of the replay.
        public var messageID: String { DeadLetterArchive.replayMessageID(entry.sequence) }
    }

    private let connection: NATSConnection

    public init(connection: NATSConnection) {
        self.connection = connection
    }

    /// Dead letters in sequence order, optionally only those with `reason`, at most `limit`.
    public func list(reason: String? = nil, limit: Int? = nil) throws(NATSError) -> [Entry] {
        var entries: [Entry] = []
        var from: UInt64 = 1
        while limit.map({ entries.count < $0 }) ?? true,
            let message = try connection.nextMessage(stream: Self.stream, from: from, subject: Self.subjectFilter)
        {
            let entry = Entry(message)
            if reason == nil || entry.reason == reason { entries.append(entry) }
            from = message.sequence + 1
        }
        return entries
    }

    /// Replays the dead letters `list(reason:limit:)` selects, one at a time, calling `progress`
    /// after each. Stops at the first failure (throws it); what was replayed before stays done.
    @discardableResult
    public func replay(
        reason: String? = nil, limit: Int? = nil, progress: (ReplayResult) -> Void = { _ in }
    ) throws(NATSError) -> [ReplayResult] {
        var results: [ReplayResult] = []
        for entry in try list(reason: reason, limit: limit) {
            let result = try replay(entry)
            progress(result)
            results.append(result)
        }
        return results
    }

    /// Publishes one dead letter's original, awaits the PubAck, deletes the dead letter.
    public func replay(_ entry: Entry) throws(NATSError) -> ReplayResult {
        let outgoing = Self.replayMessage(for: entry)
        let ack = try connection.publish(subject: outgoing.subject, headers: outgoing.headers, body: outgoing.body)
        let deleted = try connection.deleteMessage(stream: Self.stream, sequence: entry.sequence)
        return ReplayResult(entry: entry, pubAck: ack, deleted: deleted)
    }

    public static func replayMessageID(_ deadLetterSequence: UInt64) -> String { "replay-\(deadLetterSequence)" }

    /// The header a replay carries the producer's `Nats-Msg-Id` in (from the dead letter's
    /// `Deadletter-Original-Msg-Id`); ``DeadLetter`` prefers it to the replay's own id.
    public static let originalMessageIDHeader = "Banditd-Original-Msg-Id"

    /// The message a replay publishes: original subject and body, original headers without the
    /// `Deadletter-*` ones and without the original `Nats-Msg-Id`, a fresh deterministic id, and the
    /// producer's id in `Banditd-Original-Msg-Id`.
    public static func replayMessage(for entry: Entry) -> NATSConnection.OutgoingMessage {
        var headers = NATSHeaders()
        for field in entry.message.headers
        where !field.name.lowercased().hasPrefix("deadletter-") && field.name.lowercased() != "nats-msg-id"
            && field.name.lowercased() != originalMessageIDHeader.lowercased()
        {
            headers.add(field.name, field.value)
        }
        if let producerID = entry.message.headers["Deadletter-Original-Msg-Id"] {
            headers.set(originalMessageIDHeader, producerID)
        }
        headers.set("Nats-Msg-Id", replayMessageID(entry.sequence))
        return NATSConnection.OutgoingMessage(
            subject: entry.originalSubject, headers: headers, body: entry.message.body)
    }
}
