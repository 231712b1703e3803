/// The five v1 subjects (CONTRACT section 2). Any other subject is `subject.unknown`.
public enum EventSubject: String, Sendable, CaseIterable, Codable {
    case taskSynced = "signals.task.synced"
    case tipFeedback = "signals.tip.feedback"
    case decision = "signals.decision"
    case reward = "feedback.reward"
    case routing = "feedback.routing"
}
