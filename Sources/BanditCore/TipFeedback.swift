import Foundation

/// `signals.tip.feedback`: what the user did with a tip.
public struct TipFeedback: EventPayload, Equatable {
    public static let subject = EventSubject.tipFeedback

    public var eventID: UUID
    public var occurredAt: Date
    public var userID: String
    public var source: EventSource
    /// 1–128 characters.
    public var tipID: String
    public var action: TipAction

    public init(
        eventID: UUID, occurredAt: Date, userID: String, source: EventSource = .prod, tipID: String,
        action: TipAction
    ) {
        self.eventID = eventID
        self.occurredAt = occurredAt
        self.userID = userID
        self.source = source
        self.tipID = tipID
        self.action = action
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: FieldKey.self)
        try container.encodeEnvelope(of: self)
        try container.encode(tipID, for: .tipID)
        try container.encode(action, for: .action)
    }
}
