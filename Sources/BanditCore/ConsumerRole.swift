/// The two durable consumers of CONTRACT section 1, as they are named in the health JSON and in
/// metric labels.
public enum ConsumerRole: String, CaseIterable, Sendable {
    case signals
    case feedback

    /// The stream the role's consumer reads (CONTRACT section 1).
    public var stream: String {
        switch self {
        case .signals: "SIGNALS"
        case .feedback: "FEEDBACK"
        }
    }

    /// The role whose consumer reads `stream`, if any.
    public init?(stream: String) {
        guard let role = Self.allCases.first(where: { $0.stream == stream }) else { return nil }
        self = role
    }

    /// Position in fixed per-consumer storage.
    public var index: Int {
        switch self {
        case .signals: 0
        case .feedback: 1
        }
    }
}
