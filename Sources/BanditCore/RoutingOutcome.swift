import Foundation

/// `feedback.routing`: the outcome of a routed LLM inference.
public struct RoutingOutcome: EventPayload, Equatable {
    public static let subject = EventSubject.routing

    /// The optional `policy` + `features` pair; it also updates bandit state with arm = `model`.
    public struct BanditUpdate: Sendable, Equatable {
        public var policy: String
        public var features: [Double]

        public init(policy: String, features: [Double]) {
            self.policy = policy
            self.features = features
        }
    }

    public var eventID: UUID
    public var occurredAt: Date
    public var userID: String
    public var source: EventSource
    public var inferenceID: UUID
    public var taskType: TaskType
    public var taskTypeSource: TaskTypeSource
    /// `{routing policy}@{semver}+{8 lowercase hex}`; only its form is checked.
    public var policyVersion: String
    /// 1–128 characters.
    public var model: String
    /// 1–64 characters.
    public var provider: String
    public var constraintBand: ConstraintBand
    /// Quality, in [0, 1].
    public var reward: Double
    /// ≥ 0.
    public var latencyMs: Double
    /// ≥ 0.
    public var costUSD: Double
    public var completed: Bool
    public var banditUpdate: BanditUpdate?

    public init(
        eventID: UUID, occurredAt: Date, userID: String, source: EventSource = .prod, inferenceID: UUID,
        taskType: TaskType, taskTypeSource: TaskTypeSource, policyVersion: String, model: String,
        provider: String, constraintBand: ConstraintBand, reward: Double, latencyMs: Double, costUSD: Double,
        completed: Bool, banditUpdate: BanditUpdate? = nil
    ) {
        self.eventID = eventID
        self.occurredAt = occurredAt
        self.userID = userID
        self.source = source
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
    }

    /// `{task_type}|{model}|{constraint_band}`. Unambiguous even if `model` contains `|`,
    /// because the first and last parts are enum values without one.
    public var cell: String { "\(taskType.rawValue)|\(model)|\(constraintBand.rawValue)" }

    /// The tier of `taskType`.
    public var tier: TaskTier { taskType.tier }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: FieldKey.self)
        try container.encodeEnvelope(of: self)
        try container.encode(inferenceID, for: .inferenceID)
        try container.encode(taskType, for: .taskType)
        try container.encode(taskTypeSource, for: .taskTypeSource)
        try container.encode(policyVersion, for: .policyVersion)
        try container.encode(model, for: .model)
        try container.encode(provider, for: .provider)
        try container.encode(constraintBand, for: .constraintBand)
        try container.encodeFinite(reward, for: .reward)
        try container.encodeFinite(latencyMs, for: .latencyMs)
        try container.encodeFinite(costUSD, for: .costUSD)
        try container.encode(completed, for: .completed)
        if let update = banditUpdate {
            try container.encode(update.policy, for: .policy)
            try container.encode(update.features, for: .features)
        }
    }
}
