import BanditCore
import Foundation

/// Valid events of every subject, with the fields tests care about as parameters.
enum EventFactory {
    /// Whole milliseconds, so a value read back from timestamptz compares equal.
    static func now(offset: TimeInterval = 0) -> Date {
        Date(timeIntervalSince1970: ((Date().timeIntervalSince1970 + offset) * 1000).rounded() / 1000)
    }

    /// A registry in which `policy` has `dimension`, so a test can also build the events a
    /// daemon with the default policies rejects (an unknown policy, a wrong dimension).
    static func registry(_ policy: String, dimension: Int) -> PolicyRegistry {
        try! PolicyRegistry([PolicyDefinition(name: policy, algorithm: .linucb, dimension: dimension)])
    }

    static func features(_ dimension: Int, seed: Int = 1) -> [Double] {
        (0..<dimension).map { Double((seed * 31 + $0 * 7) % 19) / 10 - 0.9 }
    }

    static func decision(
        user: String = "u1", source: EventSource = .prod, id: UUID = UUID(), policy: String = "linucb_v1",
        arm: String = "a1", features: [Double]? = nil, propensity: Double = 0.5
    ) -> Event {
        .decision(
            try! Decision(
                eventID: UUID(), occurredAt: now(), userID: user, source: source, decisionID: id, policy: policy,
                policyVersion: "\(policy)@1.0.0+a3f9c2e1", armID: arm, propensity: propensity,
                features: features ?? self.features(5), candidates: [arm, "other"],
                probabilities: [propensity, 1 - propensity], explored: false,
                policies: registry(policy, dimension: features?.count ?? 5)))
    }

    static func reward(
        user: String = "u1", source: EventSource = .prod, decision: UUID, reward: Double = 1
    ) -> Event {
        .reward(
            try! Reward(
                eventID: UUID(), occurredAt: now(), userID: user, source: source, reward: reward,
                target: .decision(id: decision)))
    }

    static func inlineReward(
        user: String = "u1", source: EventSource = .prod, policy: String = "linucb_v1", arm: String = "a1",
        features: [Double]? = nil, reward: Double = 0.5, eventID: UUID = UUID()
    ) -> Event {
        .reward(
            try! Reward(
                eventID: eventID, occurredAt: now(), userID: user, source: source, reward: reward,
                target: .inline(policy: policy, armID: arm, features: features ?? self.features(5)),
                policies: registry(policy, dimension: features?.count ?? 5)))
    }

    static func routing(
        user: String = "u1", source: EventSource = .prod, model: String = "m1", taskType: TaskType = .code,
        band: ConstraintBand = .standard, reward: Double = 0.8, update: [Double]? = nil
    ) -> Event {
        .routing(
            try! RoutingOutcome(
                eventID: UUID(), occurredAt: now(), userID: user, source: source, inferenceID: UUID(),
                taskType: taskType,
                taskTypeSource: .caller, policyVersion: "routing_v1@1.0.0+a3f9c2e1", model: model, provider: "p1",
                constraintBand: band, reward: reward, latencyMs: 120.5, costUSD: 0.002, completed: true,
                banditUpdate: update.map { RoutingOutcome.BanditUpdate(policy: "routing_v1", features: $0) },
                policies: registry("routing_v1", dimension: update?.count ?? 8)))
    }

    static func taskSynced(user: String = "u1", source: EventSource = .prod, count: Int, at date: Date) -> Event {
        .taskSynced(try! TaskSynced(eventID: UUID(), occurredAt: date, userID: user, source: source, taskCount: count))
    }

    static func tip(user: String = "u1", tipID: String = "tip-1", action: TipAction = .accepted) -> Event {
        .tipFeedback(try! TipFeedback(eventID: UUID(), occurredAt: now(), userID: user, tipID: tipID, action: action))
    }
}
