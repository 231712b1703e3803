import Foundation

/// A validated v1 event: decoded from a message by `EventDecoder` (or from JSON by any
/// `Decoder`, through the payload types' `init(from:)`), or built by the payload types'
/// throwing initialisers, which apply the same rules.
public indirect enum Event: Sendable, Equatable {
    case taskSynced(TaskSynced)
    case tipFeedback(TipFeedback)
    case decision(Decision)
    case reward(Reward)
    case routing(RoutingOutcome)

    /// Decodes the payload of `subject` (the subject is not part of the body).
    public init(subject: EventSubject, from decoder: any Decoder) throws {
        switch subject {
        case .taskSynced: self = .taskSynced(try TaskSynced(from: decoder))
        case .tipFeedback: self = .tipFeedback(try TipFeedback(from: decoder))
        case .decision: self = .decision(try Decision(from: decoder))
        case .reward: self = .reward(try Reward(from: decoder))
        case .routing: self = .routing(try RoutingOutcome(from: decoder))
        }
    }

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

    public var envelope: Envelope {
        switch self {
        case .taskSynced(let event): event.envelope
        case .tipFeedback(let event): event.envelope
        case .decision(let event): event.envelope
        case .reward(let event): event.envelope
        case .routing(let event): event.envelope
        }
    }

    public var eventID: UUID {
        switch self {
        case .taskSynced(let event): event.envelope.eventID
        case .tipFeedback(let event): event.envelope.eventID
        case .decision(let event): event.envelope.eventID
        case .reward(let event): event.envelope.eventID
        case .routing(let event): event.envelope.eventID
        }
    }

    public var occurredAt: Date {
        switch self {
        case .taskSynced(let event): event.envelope.occurredAt
        case .tipFeedback(let event): event.envelope.occurredAt
        case .decision(let event): event.envelope.occurredAt
        case .reward(let event): event.envelope.occurredAt
        case .routing(let event): event.envelope.occurredAt
        }
    }

    public var userID: String {
        switch self {
        case .taskSynced(let event): event.envelope.userID
        case .tipFeedback(let event): event.envelope.userID
        case .decision(let event): event.envelope.userID
        case .reward(let event): event.envelope.userID
        case .routing(let event): event.envelope.userID
        }
    }

    public var source: EventSource {
        switch self {
        case .taskSynced(let event): event.envelope.source
        case .tipFeedback(let event): event.envelope.source
        case .decision(let event): event.envelope.source
        case .reward(let event): event.envelope.source
        case .routing(let event): event.envelope.source
        }
    }
}

extension Event: Encodable {
    /// Encodes the payload's JSON object (the subject is not part of the body).
    public func encode(to encoder: any Encoder) throws {
        try payload.encode(to: encoder)
    }
}

/// A v1 payload: the envelope plus the subject's own members.
public protocol EventPayload: Sendable, Codable {
    static var subject: EventSubject { get }
    var envelope: Envelope { get }
}

extension EventPayload {
    /// `event_id`, the idempotency key.
    public var eventID: UUID { envelope.eventID }
    /// `occurred_at`, as a point in time (the producer's offset is not kept).
    public var occurredAt: Date { envelope.occurredAt }
    /// `user_id`: 1–128 characters of `[A-Za-z0-9._:@-]`.
    public var userID: String { envelope.userID }
    /// `source`; `prod` when the message had none.
    public var source: EventSource { envelope.source }
}

extension EventSubject {
    /// The payload type of the subject.
    public var payloadType: any EventPayload.Type {
        switch self {
        case .taskSynced: TaskSynced.self
        case .tipFeedback: TipFeedback.self
        case .decision: Decision.self
        case .reward: Reward.self
        case .routing: RoutingOutcome.self
        }
    }
}
