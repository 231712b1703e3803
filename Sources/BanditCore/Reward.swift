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

    public let envelope: Envelope
    /// Finite, in [-1, 1].
    public let reward: Double
    public let target: Target

    enum Members {
        static let reward = Member(.reward, Rules.reward, .required)
        // The two forms: decision_id alone, or policy + arm_id + features.
        static let decisionID = Member(.decisionID, Rules.uuid, .optional)
        static let policy = Member(.policy, Rules.policy, .optional)
        static let armID = Member(.armID, Rules.armID, .optional)
        static let features = Member(.features, Rules.features, .optional)

        static let inline: [Field] = [.policy, .armID, .features]
    }

    static let schema = EventSchema(
        subject: subject, title: "A reward for a bandit arm",
        members: Envelope.Members.all + [
            Members.reward.description, Members.decisionID.description, Members.policy.description,
            Members.armID.description, Members.features.description,
        ],
        constraints: [
            (
                "oneOf",
                .array([
                    .object([
                        ("title", "decision_id form: the logged decision supplies policy, arm and features"),
                        ("required", ["decision_id"]),
                        (
                            "not",
                            .object([
                                ("anyOf", .array(Members.inline.map { .object([("required", [.string($0.name)])]) }))
                            ])
                        ),
                    ]),
                    .object([
                        ("title", "inline form"),
                        ("required", .array(Members.inline.map { .string($0.name) })),
                        ("not", .object([("required", ["decision_id"])])),
                    ]),
                ])
            )
        ])

    /// Throws the `Rejection` `EventDecoder` with `policies` would give this event's JSON.
    public init(
        eventID: UUID, occurredAt: Date, userID: String, source: EventSource = .prod, reward: Double,
        target: Target, policies: PolicyRegistry = .defaults
    ) throws(Rejection) {
        envelope = Envelope(eventID: eventID, occurredAt: occurredAt, userID: userID, source: source)
        self.reward = reward
        self.target = target
        try validate(policies: policies)
    }

    public init(from decoder: any Decoder) throws {
        let fields = try EventFields(decoder)
        envelope = try Envelope(fields)
        reward = try fields.decode(Members.reward)
        let inlineCount = Members.inline.reduce(0) { $0 + (fields.has($1) ? 1 : 0) }
        if fields.has(.decisionID) {
            guard inlineCount == 0 else {
                let inlinePresent = Members.inline.filter(fields.has)
                throw Rejection(
                    reason: .schemaInvalid,
                    detail:
                        "body: expected decision_id alone or policy + arm_id + features, got decision_id mixed with \(inlinePresent.map(\.name).joined(separator: ", "))"
                )
            }
            target = .decision(id: try fields.decode(Members.decisionID))
        } else if inlineCount == Members.inline.count {
            let policy = try fields.decode(Members.policy)
            let armID = try fields.decode(Members.armID)
            let features = try Rules.features.decode(fields, .features, policy: policy)
            target = .inline(policy: policy.name, armID: armID, features: features)
        } else if inlineCount == 0 {
            throw Rejection(
                reason: .schemaInvalid,
                detail: "body: expected decision_id, or policy + arm_id + features, got neither form")
        } else {
            let missing = Members.inline.filter { !fields.has($0) }.map(\.name).joined(separator: ", ")
            throw Rejection(
                reason: .schemaInvalid,
                detail: "body: the inline form needs policy, arm_id and features, got no \(missing)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encodeEnvelope(envelope)
        try container.encodeFinite(reward, for: .reward)
        switch target {
        case .decision(let id):
            try container.encode(id, for: .decisionID)
        case .inline(let policy, let armID, let features):
            try container.encode(policy, forKey: .policy)
            try container.encode(armID, forKey: .armID)
            try container.encode(features, forKey: .features)
        }
    }
}
