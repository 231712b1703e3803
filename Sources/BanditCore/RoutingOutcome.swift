import Foundation

/// `feedback.routing`: the outcome of a routed LLM inference.
public struct RoutingOutcome: EventPayload, Equatable {
    public static let subject = EventSubject.routing

    /// The optional `policy` + `features` pair; it also updates bandit state with arm = `model`.
    public struct BanditUpdate: Sendable, Equatable {
        public let policy: String
        public let features: [Double]

        /// Checked with the outcome that carries it.
        public init(policy: String, features: [Double]) {
            self.policy = policy
            self.features = features
        }
    }

    public let envelope: Envelope
    public let inferenceID: UUID
    public let taskType: TaskType
    public let taskTypeSource: TaskTypeSource
    /// `{routing policy}@{semver}+{8 lowercase hex}`; only its form is checked.
    public let policyVersion: String
    /// 1–128 characters.
    public let model: String
    /// 1–64 characters.
    public let provider: String
    public let constraintBand: ConstraintBand
    /// Quality, in [0, 1].
    public let reward: Double
    /// ≥ 0.
    public let latencyMs: Double
    /// ≥ 0.
    public let costUSD: Double
    public let completed: Bool
    public let banditUpdate: BanditUpdate?

    enum Members {
        static let inferenceID = Member(.inferenceID, Rules.uuid, .required)
        static let taskType = Member(.taskType, Rules.taskType, .required)
        static let taskTypeSource = Member(.taskTypeSource, Rules.taskTypeSource, .required)
        static let policyVersion = Member(.policyVersion, Rules.policyVersion, .required)
        static let model = Member(.model, Rules.model, .required)
        static let provider = Member(.provider, Rules.provider, .required)
        static let constraintBand = Member(.constraintBand, Rules.constraintBand, .required)
        static let reward = Member(.reward, Rules.quality, .required)
        static let latencyMs = Member(.latencyMs, Rules.latencyMs, .required)
        static let costUSD = Member(.costUSD, Rules.costUSD, .required)
        static let completed = Member(.completed, Rules.completed, .required)
        // Both or neither.
        static let policy = Member(.policy, Rules.policy, .optional)
        static let features = Member(.features, Rules.features, .optional)
    }

    static let schema = EventSchema(
        subject: subject, title: "The outcome of a routed LLM inference",
        members: Envelope.Members.all + [
            Members.inferenceID.description, Members.taskType.description, Members.taskTypeSource.description,
            Members.policyVersion.description, Members.model.description, Members.provider.description,
            Members.constraintBand.description, Members.reward.description, Members.latencyMs.description,
            Members.costUSD.description, Members.completed.description, Members.policy.description,
            Members.features.description,
        ],
        constraints: [
            ("dependentRequired", .object([("policy", ["features"]), ("features", ["policy"])]))
        ])

    /// Throws the `Rejection` `EventDecoder` with `policies` would give this event's JSON.
    public init(
        eventID: UUID, occurredAt: Date, userID: String, source: EventSource = .prod, inferenceID: UUID,
        taskType: TaskType, taskTypeSource: TaskTypeSource, policyVersion: String, model: String,
        provider: String, constraintBand: ConstraintBand, reward: Double, latencyMs: Double, costUSD: Double,
        completed: Bool, banditUpdate: BanditUpdate? = nil, policies: PolicyRegistry = .defaults
    ) throws(Rejection) {
        envelope = Envelope(eventID: eventID, occurredAt: occurredAt, userID: userID, source: source)
        self.inferenceID = inferenceID
        self.taskType = taskType
        self.taskTypeSource = taskTypeSource
        self.policyVersion = policyVersion
        self.model = model
        self.provider = provider
        self.constraintBand = constraintBand
        self.reward = reward
        self.latencyMs = latencyMs
        self.costUSD = costUSD
        self.completed = completed
        self.banditUpdate = banditUpdate
        try validate(policies: policies)
    }

    public init(from decoder: any Decoder) throws {
        let fields = try EventFields(decoder)
        envelope = try Envelope(fields)
        inferenceID = try fields.decode(Members.inferenceID)
        taskType = try fields.decode(Members.taskType)
        taskTypeSource = try fields.decode(Members.taskTypeSource)
        policyVersion = try fields.decode(Members.policyVersion).text
        model = try fields.decode(Members.model)
        provider = try fields.decode(Members.provider)
        constraintBand = try fields.decode(Members.constraintBand)
        reward = try fields.decode(Members.reward)
        latencyMs = try fields.decode(Members.latencyMs)
        costUSD = try fields.decode(Members.costUSD)
        completed = try fields.decode(Members.completed)
        switch (fields.has(.policy), fields.has(.features)) {
        case (false, false):
            banditUpdate = nil
        case (true, true):
            let policy = try fields.decode(Members.policy)
            banditUpdate = BanditUpdate(
                policy: policy.name, features: try Rules.features.decode(fields, .features, policy: policy))
        case (false, true):
            throw Rejection(
                reason: .schemaInvalid, detail: "policy: required when features is given (both or neither)")
        case (true, false):
            throw Rejection(
                reason: .schemaInvalid, detail: "features: required when policy is given (both or neither)")
        }
    }

    /// `{task_type}|{model}|{constraint_band}`. Unambiguous even if `model` contains `|`,
    /// because the first and last parts are enum values without one.
    public var cell: String { "\(taskType.rawValue)|\(model)|\(constraintBand.rawValue)" }

    /// The tier of `taskType`.
    public var tier: TaskTier { taskType.tier }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encodeEnvelope(envelope)
        try container.encode(inferenceID, for: .inferenceID)
        try container.encode(taskType, forKey: .taskType)
        try container.encode(taskTypeSource, forKey: .taskTypeSource)
        try container.encode(policyVersion, forKey: .policyVersion)
        try container.encode(model, forKey: .model)
        try container.encode(provider, forKey: .provider)
        try container.encode(constraintBand, forKey: .constraintBand)
        try container.encodeFinite(reward, for: .reward)
        try container.encodeFinite(latencyMs, for: .latencyMs)
        try container.encodeFinite(costUSD, for: .costUSD)
        try container.encode(completed, forKey: .completed)
        if let update = banditUpdate {
            try container.encode(update.policy, forKey: .policy)
            try container.encode(update.features, forKey: .features)
        }
    }
}
