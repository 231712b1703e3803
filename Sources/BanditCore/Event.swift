import Foundation

/// A validated v1 event. Build one only through `EventDecoder`, or by hand for producers
/// (then encode it with `JSONEncoder` and it decodes back through `EventDecoder`).
public enum Event: Sendable, Equatable {
    case taskSynced(TaskSynced)
    case tipFeedback(TipFeedback)
    case decision(Decision)
    case reward(Reward)
    case routing(RoutingOutcome)

    public var subject: EventSubject {
        switch self {
        case .taskSynced: .taskSynced
        case .tipFeedback: .tipFeedback
        case .decision: .decision
        case .reward: .reward
        case .routing: .routing
        }
    }

    /// The payload, as its common envelope.
    public var payload: any EventPayload {
        switch self {
        case .taskSynced(let event): event
        case .tipFeedback(let event): event
        case .decision(let event): event
        case .reward(let event): event
        case .routing(let event): event
        }
    }

    public var eventID: UUID { payload.eventID }
    public var occurredAt: Date { payload.occurredAt }
    public var userID: String { payload.userID }
    public var source: EventSource { payload.source }
}

extension Event: Encodable {
    /// Encodes the payload's JSON object (the subject is not part of the body).
    public func encode(to encoder: any Encoder) throws {
        try payload.encode(to: encoder)
    }
}

/// The envelope every v1 payload carries. `schema_version` is always 1 and not stored.
public protocol EventPayload: Sendable, Encodable {
    static var subject: EventSubject { get }
    /// `event_id`, the idempotency key.
    var eventID: UUID { get }
    /// `occurred_at`, as a point in time (the producer's offset is not kept).
    var occurredAt: Date { get }
    /// `user_id`: 1–128 characters of `[A-Za-z0-9._:@-]`.
    var userID: String { get }
    /// `source`; `prod` when the message had none.
    var source: EventSource { get }
}
