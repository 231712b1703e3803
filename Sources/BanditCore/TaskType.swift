/// `task_type` of a routed inference.
public enum TaskType: String, Sendable, Codable, CaseIterable {
    case reasoning
    case code
    case extraction
    case chat
    case toolUse = "tool_use"
    case embed
    case general

    /// Tier 1 is reasoning, code, extraction and chat; tier 2 the rest (CONTRACT section 4).
    public var tier: TaskTier {
        switch self {
        case .reasoning, .code, .extraction, .chat: .tier1
        case .toolUse, .embed, .general: .tier2
        }
    }
}

/// Coverage tier of a task type.
public enum TaskTier: Int, Sendable, Codable, CaseIterable {
    case tier1 = 1
    case tier2 = 2
}

/// `task_type_source`: who decided the task type.
public enum TaskTypeSource: String, Sendable, Codable, CaseIterable {
    case caller
    case classifier
    case `default`
}

/// `constraint_band` of a routed inference.
public enum ConstraintBand: String, Sendable, Codable, CaseIterable {
    case low
    case standard
    case high
}

/// `action` of a tip feedback.
public enum TipAction: String, Sendable, Codable, CaseIterable {
    case accepted
    case dismissed
    case snoozed
    case ignored
}
