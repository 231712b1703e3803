import Foundation

/// A validated v1 event. Build one only through `EventDecoder`, or by hand for producers
/// (then encode it with `JSONEncoder` and it decodes back through `EventDecoder`).
public indirect enum Event: Sendable, Equatable {
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

    public var eventID: UUID {
        switch self {
        case .taskSynced(let event): event.eventID
        case .tipFeedback(let event): event.eventID
        case .decision(let event): event.eventID
        case .reward(let event): event.eventID
        case .routing(let event): event.eventID
        }
    }

    public var occurredAt: Date {
        switch self {
        case .taskSynced(let event): event.occurredAt
        case .tipFeedback(let event): event.occurredAt
        case .decision(let event): event.occurredAt
        case .reward(let event): event.occurredAt
        case .routing(let event): event.occurredAt
        }
    }

    public var userID: String {
        switch self {
        case .taskSynced(let event): event.userID
        case .tipFeedback(let event): event.userID
        case .decision(let event): event.userID
        case .reward(let event): event.userID
        case .routing(let event): event.userID
        }
    }

    public var source: EventSource {
        switch self {
        case .taskSynced(let event): event.source
        case .tipFeedback(let event): event.source
        case .decision(let event): event.source
        case .reward(let event): event.source
        case .routing(let event): event.source
        }
    }
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
