/// Every member name of the v1 payloads. The raw value indexes per-message slots.
enum Field: Int, CaseIterable, Sendable {
    case eventID, schemaVersion, occurredAt, userID, source
    case taskCount
    case tipID, action
    case decisionID, policy, policyVersion, armID, propensity, features, candidates, probabilities, explored
    case reward
    case inferenceID, taskType, taskTypeSource, model, provider, constraintBand, latencyMs, costUSD, completed

    var name: String {
        switch self {
        case .eventID: "event_id"
        case .schemaVersion: "schema_version"
        case .occurredAt: "occurred_at"
        case .userID: "user_id"
        case .source: "source"
        case .taskCount: "task_count"
        case .tipID: "tip_id"
        case .action: "action"
        case .decisionID: "decision_id"
        case .policy: "policy"
        case .policyVersion: "policy_version"
        case .armID: "arm_id"
        case .propensity: "propensity"
        case .features: "features"
        case .candidates: "candidates"
        case .probabilities: "probabilities"
        case .explored: "explored"
        case .reward: "reward"
        case .inferenceID: "inference_id"
        case .taskType: "task_type"
        case .taskTypeSource: "task_type_source"
        case .model: "model"
        case .provider: "provider"
        case .constraintBand: "constraint_band"
        case .latencyMs: "latency_ms"
        case .costUSD: "cost_usd"
        case .completed: "completed"
        }
    }

    /// Signature of every name, indexed by raw value.
    static let signatures: [NameSignature] = allCases.map { NameSignature($0.name) }

    static let envelope: [Field] = [.eventID, .schemaVersion, .occurredAt, .userID, .source]

    /// The members read for a subject; any other member is ignored.
    static func members(of subject: EventSubject) -> [Field] {
        switch subject {
        case .taskSynced: taskSyncedMembers
        case .tipFeedback: tipFeedbackMembers
        case .decision: decisionMembers
        case .reward: rewardMembers
        case .routing: routingMembers
        }
    }

    private static let taskSyncedMembers = envelope + [.taskCount]
    private static let tipFeedbackMembers = envelope + [.tipID, .action]
    private static let decisionMembers =
        envelope + [
            .decisionID, .policy, .policyVersion, .armID, .propensity, .features, .candidates, .probabilities,
            .explored,
        ]
    private static let rewardMembers = envelope + [.reward, .decisionID, .policy, .armID, .features]
    private static let routingMembers =
        envelope + [
            .inferenceID, .taskType, .taskTypeSource, .policyVersion, .model, .provider, .constraintBand, .reward,
            .latencyMs, .costUSD, .completed, .policy, .features,
        ]
}

/// `Field` as a coding key, so producers' JSON uses exactly the contract's member names.
struct FieldKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }

    init(_ field: Field) {
        stringValue = field.name
    }

    init?(stringValue: String) {
        self.stringValue = stringValue
    }

    init?(intValue: Int) {
        nil
    }
}
