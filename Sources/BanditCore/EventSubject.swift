/// The five v1 subjects (CONTRACT section 2). Any other subject is `subject.unknown`.
public enum EventSubject: String, Sendable, CaseIterable, Codable {
    case taskSynced = "signals.task.synced"
    case tipFeedback = "signals.tip.feedback"
    case decision = "signals.decision"
    case reward = "feedback.reward"
    case routing = "feedback.routing"

    /// `init(rawValue:)` without the generic string switch: a length check, then bytes.
    static func match(_ subject: String) -> EventSubject? {
        var subject = subject
        return subject.withUTF8 { given in
            for (candidate, bytes) in utf8RawValues where bytes.count == given.count {
                var equal = true
                for index in 0..<given.count where bytes[index] != given[index] {
                    equal = false
                    break
                }
                if equal { return candidate }
            }
            return nil
        }
    }

    private static let utf8RawValues: [(EventSubject, [UInt8])] = allCases.map { ($0, Array($0.rawValue.utf8)) }
}
