import Foundation

/// `feedback.reward`: one reward for a bandit arm, in one of two forms.
public struct Reward: EventPayload, Equatable {
    public static let subject = EventSubject.reward

    /// What the reward applies to.
    public enum Target: Sendable, Equatable {
        /// `decision_id` form: the logged decision supplies policy, arm and features.
        case decision(id: UUID)
        /// Inline form: `policy`, `arm_id` and `features`, all three.
        case inline(policy: String, armID: String, features: [Double])
    }

    public var eventID: UUID
    public var occurredAt: Date
    public var userID: String
    public var source: EventSource
    /// Finite, in [-1, 1].
    public var reward: Double
    public var target: Target

    public init(
        eventID: UUID, occurredAt: Date, userID: String, source: EventSource = .prod, reward: Double,
        target: Target
    ) {
        self.eventID = eventID
        self.occurredAt = occurredAt
        self.userID = userID
        self.source = source
        self.reward = reward
        self.target = target
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: FieldKey.self)
        try container.encodeEnvelope(of: self)
        try container.encodeFinite(reward, for: .reward)
        switch target {
        case .decision(let id):
            try container.encode(id, for: .decisionID)
        case .inline(let policy, let armID, let features):
            try container.encode(policy, for: .policy)
            try container.encode(armID, for: .armID)
            try container.encode(features, for: .features)
        }
    }
}
