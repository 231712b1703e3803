import Foundation

/// `signals.tip.feedback`: what the user did with a tip.
public struct TipFeedback: EventPayload, Equatable {
    public static let subject = EventSubject.tipFeedback

    public let envelope: Envelope
    /// 1–128 characters.
    public let tipID: String
    public let action: TipAction

    enum Members {
        static let tipID = Member(.tipID, Rules.tipID, .required)
        static let action = Member(.action, Rules.tipAction, .required)
    }

    static let schema = EventSchema(
        subject: subject, title: "What a user did with a tip",
        members: Envelope.Members.all + [Members.tipID.description, Members.action.description])

    /// Throws the `Rejection` `EventDecoder` would give this event's JSON.
    public init(
        eventID: UUID, occurredAt: Date, userID: String, source: EventSource = .prod, tipID: String,
        action: TipAction
    ) throws(Rejection) {
        envelope = Envelope(eventID: eventID, occurredAt: occurredAt, userID: userID, source: source)
        self.tipID = tipID
        self.action = action
        try validate(policies: .defaults)
    }

    public init(from decoder: any Decoder) throws {
        let fields = try EventFields(decoder)
        envelope = try Envelope(fields)
        tipID = try fields.decode(Members.tipID)
        action = try fields.decode(Members.action)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encodeEnvelope(envelope)
        try container.encode(tipID, forKey: .tipID)
        try container.encode(action, forKey: .action)
    }
}
