import Foundation

/// `signals.decision`: a policy chose an arm. Kept for joining rewards and off-policy evaluation.
public struct Decision: EventPayload, Equatable {
    public static let subject = EventSubject.decision

    public let envelope: Envelope
    public let decisionID: UUID
    /// A configured policy's name.
    public let policy: String
    /// `{policy}@{semver}+{8 lowercase hex}`.
    public let policyVersion: String
    public let armID: String
    /// 0 < p ≤ 1.
    public let propensity: Double
    /// Exactly the policy's dimension, each |x| ≤ 1e6.
    public let features: [Double]
    /// Distinct arm ids, containing `armID`.
    public let candidates: [String]?
    /// One per candidate, each in [0, 1], summing to 1; only with `candidates`.
    public let probabilities: [Double]?
    public let explored: Bool?

    enum Members {
        static let decisionID = Member(.decisionID, Rules.uuid, .required)
        static let policy = Member(.policy, Rules.policy, .required)
        static let policyVersion = Member(.policyVersion, Rules.policyVersion, .required)
        static let armID = Member(.armID, Rules.armID, .required)
        static let propensity = Member(.propensity, Rules.propensity, .required)
        static let features = Member(.features, Rules.features, .required)
        static let candidates = Member(.candidates, Rules.candidates, .optional)
        static let probabilities = Member(.probabilities, Rules.probabilities, .optional)
        static let explored = Member(.explored, Rules.explored, .optional)
    }

    static let schema = EventSchema(
        subject: subject, title: "A policy chose an arm",
        members: Envelope.Members.all + [
            Members.decisionID.description, Members.policy.description, Members.policyVersion.description,
            Members.armID.description, Members.propensity.description, Members.features.description,
            Members.candidates.description, Members.probabilities.description, Members.explored.description,
        ],
        constraints: [("dependentRequired", .object([("probabilities", .array(["candidates"]))]))],
        crossFieldRules: [
            "the name part of policy_version (before '@') equals policy",
            "candidates contains arm_id",
            "probabilities has one number per candidate, sums to 1 (±1e-6), and the one of arm_id equals propensity (±1e-6)",
        ])

    /// Throws the `Rejection` `EventDecoder` with `policies` would give this event's JSON.
    public init(
        eventID: UUID, occurredAt: Date, userID: String, source: EventSource = .prod, decisionID: UUID,
        policy: String, policyVersion: String, armID: String, propensity: Double, features: [Double],
        candidates: [String]? = nil, probabilities: [Double]? = nil, explored: Bool? = nil,
        policies: PolicyRegistry = .defaults
    ) throws(Rejection) {
        envelope = Envelope(eventID: eventID, occurredAt: occurredAt, userID: userID, source: source)
        self.decisionID = decisionID
        self.policy = policy
        self.policyVersion = policyVersion
        self.armID = armID
        self.propensity = propensity
        self.features = features
        self.candidates = candidates
        self.probabilities = probabilities
        self.explored = explored
        try validate(policies: policies)
    }

    public init(from decoder: any Decoder) throws {
        let fields = try EventFields(decoder)
        envelope = try Envelope(fields)
        decisionID = try fields.decode(Members.decisionID)
        let definition = try fields.decode(Members.policy)
        policy = definition.name
        let version = try fields.decode(Members.policyVersion)
        guard version.text.utf8.prefix(version.nameLength).elementsEqual(definition.name.utf8) else {
            throw fields.mismatch(
                .policyVersion, "the name part to equal policy \(quoted(definition.name))", value: quoted(version.text))
        }
        policyVersion = version.text
        armID = try fields.decode(Members.armID)
        propensity = try fields.decode(Members.propensity)
        try fields.require(.features)
        features = try Rules.features.decode(fields, .features, policy: definition)
        if fields.has(.candidates) {
            candidates = try Rules.candidates.decode(fields, .candidates, armID: armID)
        } else {
            candidates = nil
        }
        if fields.has(.probabilities) {
            guard let candidates else {
                throw Rejection(
                    reason: .schemaInvalid,
                    detail: "probabilities: only allowed together with candidates, which is missing")
            }
            probabilities = try Rules.probabilities.decode(
                fields, .probabilities, candidates: candidates, armID: armID, propensity: propensity)
        } else {
            probabilities = nil
        }
        explored = try fields.decodeIfPresent(Members.explored)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encodeEnvelope(envelope)
        try container.encode(decisionID, for: .decisionID)
        try container.encode(policy, forKey: .policy)
        try container.encode(policyVersion, forKey: .policyVersion)
        try container.encode(armID, forKey: .armID)
        try container.encodeFinite(propensity, for: .propensity)
        try container.encode(features, forKey: .features)
        try container.encodeIfPresent(candidates, forKey: .candidates)
        try container.encodeIfPresent(probabilities, forKey: .probabilities)
        try container.encodeIfPresent(explored, forKey: .explored)
    }
}
