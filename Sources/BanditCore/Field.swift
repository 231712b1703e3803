/// Every member name of the v1 payloads, and the `CodingKey` of every event type. The raw value
/// indexes the strict decoder's per-message slots, so a keyed lookup is one bit test and one load.
enum Field: Int, CaseIterable, Sendable, CodingKey {
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

    var stringValue: String { name }
    /// Not an array index: the coding key of an object member only.
    var intValue: Int? { nil }

    init?(stringValue: String) {
        guard let field = Field.byName[stringValue] else { return nil }
        self = field
    }

    init?(intValue: Int) {
        nil
    }

    private static let byName: [String: Field] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.name, $0) })

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
