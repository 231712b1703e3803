/// The two durable consumers of CONTRACT section 1, as they are named in the health JSON and in
/// metric labels.
public enum ConsumerRole: String, CaseIterable, Sendable {
    case signals
    case feedback

    /// Position in fixed per-consumer storage.
    var index: Int {
        switch self {
        case .signals: 0
        case .feedback: 1
        }
    }
}
