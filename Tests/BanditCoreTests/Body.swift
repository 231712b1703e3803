import BanditCore
import Foundation

/// A JSON object body as ordered members of raw JSON text, so tests can break exactly one
/// thing at a time without depending on any JSON library.
struct Body: Sendable, CustomStringConvertible {
    var members: [(name: String, raw: String)]

    init(_ members: [(String, String)]) {
        self.members = members.map { (name: $0.0, raw: $0.1) }
    }

    /// Sets `name` to `raw` (appending it if absent), or removes it when `raw` is nil.
    func setting(_ name: String, _ raw: String?) -> Body {
        var copy = self
        if let index = copy.members.firstIndex(where: { $0.name == name }) {
            if let raw {
                copy.members[index].raw = raw
            } else {
                copy.members.remove(at: index)
            }
        } else if let raw {
            copy.members.append((name: name, raw: raw))
        }
        return copy
    }

    func removing(_ names: String...) -> Body {
        names.reduce(self) { $0.setting($1, nil) }
    }

    var description: String {
        "{" + members.map { "\"\($0.name)\":\($0.raw)" }.joined(separator: ",") + "}"
    }

    var bytes: [UInt8] { Array(description.utf8) }
}

/// One valid body per subject (and per form), the bases that rule tests break.
enum Sample {
    static let envelope: [(String, String)] = [
        ("event_id", "\"0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d01\""),
        ("schema_version", "1"),
        ("occurred_at", "\"2026-04-25T10:00:00Z\""),
        ("user_id", "\"user-000042\""),
        ("source", "\"prod\""),
    ]

    static let taskSynced = Body(envelope + [("task_count", "137")])

    static let tipFeedback = Body(envelope + [("tip_id", "\"tip-weekly-review\""), ("action", "\"accepted\"")])

    static let decision = Body(
        envelope + [
            ("decision_id", "\"3eaf5c8b-1d74-4f6e-8a5b-8c9d0e1f2a34\""),
            ("policy", "\"linucb_v1\""),
            ("policy_version", "\"linucb_v1@1.0.0+a3f9c2e1\""),
            ("arm_id", "\"a\""),
            ("propensity", "0.7"),
            ("features", "[0.12,-0.5,1,0.333,0]"),
            ("candidates", "[\"a\",\"b\",\"c\"]"),
            ("probabilities", "[0.7,0.2,0.1]"),
            ("explored", "false"),
        ])

    static let rewardDecisionForm = Body(
        envelope + [("reward", "1"), ("decision_id", "\"3eaf5c8b-1d74-4f6e-8a5b-8c9d0e1f2a34\"")])

    static let rewardInlineForm = Body(
        envelope + [
            ("reward", "0.75"), ("policy", "\"linucb_v1\""), ("arm_id", "\"tip-morning-review\""),
            ("features", "[0.12,-0.5,1.0,0.333,0.0]"),
        ])

    static let routing = Body(
        envelope + [
            ("inference_id", "\"6bd28f1e-4a07-4c9b-9d8e-1f2a3b4c5d67\""),
            ("task_type", "\"code\""),
            ("task_type_source", "\"classifier\""),
            ("policy_version", "\"routing_v1@1.2.0+0badc0de\""),
            ("model", "\"gpt-4o-mini\""),
            ("provider", "\"openai\""),
            ("constraint_band", "\"standard\""),
            ("reward", "0.82"),
            ("latency_ms", "812.5"),
            ("cost_usd", "0.00042"),
            ("completed", "true"),
            ("policy", "\"routing_v1\""),
            ("features", "[1,0,0,0.25,-0.75,0.5,0.125,1e-3]"),
        ])

    /// Every base with its subject.
    static let all: [(EventSubject, Body)] = [
        (.taskSynced, taskSynced), (.tipFeedback, tipFeedback), (.decision, decision),
        (.reward, rewardDecisionForm), (.reward, rewardInlineForm), (.routing, routing),
    ]

    static func body(of subject: EventSubject) -> Body {
        switch subject {
        case .taskSynced: taskSynced
        case .tipFeedback: tipFeedback
        case .decision: decision
        case .reward: rewardInlineForm
        case .routing: routing
        }
    }
}
