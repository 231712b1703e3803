import Foundation

/// `signals.decision`: a policy chose an arm. Kept for joining rewards and off-policy evaluation.
public struct Decision: EventPayload, Equatable {
    public static let subject = EventSubject.decision

    public var eventID: UUID
    public var occurredAt: Date
    public var userID: String
    public var source: EventSource
    public var decisionID: UUID
    /// A configured policy's name.
    public var policy: String
    /// `{policy}@{semver}+{8 lowercase hex}`.
    public var policyVersion: String
    public var armID: String
    /// 0 < p ≤ 1.
    public var propensity: Double
    /// Exactly the policy's dimension, each |x| ≤ 1e6.
    public var features: [Double]
    /// Distinct arm ids, containing `armID`.
    public var candidates: [String]?
    /// One per candidate, each in [0, 1], summing to 1; only with `candidates`.
    public var probabilities: [Double]?
    public var explored: Bool?

    public init(
        eventID: UUID, occurredAt: Date, userID: String, source: EventSource = .prod, decisionID: UUID,
        policy: String, policyVersion: String, armID: String, propensity: Double, features: [Double],
        candidates: [String]? = nil, probabilities: [Double]? = nil, explored: Bool? = nil
    ) {
        self.eventID = eventID
        self.occurredAt = occurredAt
        self.userID = userID
        self.source = source
        self.decisionID = decisionID
        self.policy = policy
        self.policyVersion = policyVersion
        self.armID = armID
        self.propensity = propensity
        self.features = features
        self.candidates = candidates
        self.probabilities = probabilities
        self.explored = explored
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: FieldKey.self)
        try container.encodeEnvelope(of: self)
        try container.encode(decisionID, for: .decisionID)
        try container.encode(policy, for: .policy)
        try container.encode(policyVersion, for: .policyVersion)
        try container.encode(armID, for: .armID)
        try container.encodeFinite(propensity, for: .propensity)
        try container.encode(features, for: .features)
        try container.encodeIfPresent(candidates, for: .candidates)
        try container.encodeIfPresent(probabilities, for: .probabilities)
        try container.encodeIfPresent(explored, for: .explored)
    }
}
