import Foundation

/// The members every v1 payload carries (CONTRACT section 2). `schema_version` is always 1 and
/// not stored.
public struct Envelope: Sendable, Equatable, Decodable {
    /// `event_id`, the idempotency key.
    public let eventID: UUID
    /// `occurred_at`, as a point in time (the producer's offset is not kept).
    public let occurredAt: Date
    /// `user_id`: 1–128 characters of `[A-Za-z0-9._:@-]`.
    public let userID: String
    /// `source`; `prod` when the message had none.
    public let source: EventSource

    /// The envelope's members, in the order they are checked (before the subject's own).
    enum Members {
        static let schemaVersion = Member(.schemaVersion, Rules.schemaVersion, .required)
        static let eventID = Member(.eventID, Rules.uuid, .required)
        static let occurredAt = Member(.occurredAt, Rules.occurredAt, .required)
        static let userID = Member(.userID, Rules.userID, .required)
        static let source = Member(.source, Rules.source, .optional)

        static let all = [
            schemaVersion.description, eventID.description, occurredAt.description, userID.description,
            source.description,
        ]
    }

    /// Unchecked: the event initialisers that take these values validate the whole event.
    init(eventID: UUID, occurredAt: Date, userID: String, source: EventSource) {
        self.eventID = eventID
        self.occurredAt = occurredAt
        self.userID = userID
        self.source = source
    }

    public init(from decoder: any Decoder) throws {
        try self.init(EventFields(decoder))
    }

    init(_ fields: EventFields) throws {
        _ = try fields.decode(Members.schemaVersion)
        eventID = try fields.decode(Members.eventID)
        occurredAt = try fields.decode(Members.occurredAt)
        userID = try fields.decode(Members.userID)
        source = try fields.decodeIfPresent(Members.source) ?? .prod
    }
}
