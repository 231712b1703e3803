import BanditCore
import Foundation
import NATSKit
import TestServers

/// The benchmark's traffic, 200 users × 8 arms, all three sources.
///
/// - `headline` (the throughput issue's realistic mix): of every 20 events, 14 inline
///   `feedback.reward` (70 %) spread over linucb_v1 (d=5), egreedy_v1 (d=7) and egreedy_v2 (d=12),
///   4 `signals.decision` (20 %), 2 `feedback.routing` with a state update (10 %, routing_v1, d=8).
/// - `join`: of every 20, 9 decisions (45 %), 9 rewards joining them by decision_id (45 %) and 2
///   routing outcomes (10 %). Decisions come first in each group, so a reward's decision is
///   published before it.
enum EventMix {
    static let users = Int(ProcessInfo.processInfo.environment["BENCH_USERS"] ?? "") ?? 200
    static let arms = 8
    static let sources: [EventSource] = [.prod, .synthetic, .shadow]
    /// (policy, dimension) of the inline rewards and decisions.
    static let policies: [(name: String, dimension: Int)] = [("linucb_v1", 5), ("egreedy_v1", 7), ("egreedy_v2", 12)]

    static func make(_ mix: Mix, count: Int, now: Date = Date()) -> [Event] {
        (0..<count).map { event(index: $0, mix: mix, now: now) }
    }

    static func event(index: Int, mix: Mix, now: Date) -> Event {
        let slot = index % 20
        let group = index / 20
        switch mix {
        case .headline, .headlineHalfClosing:
            switch slot {
            case 0..<14: return inlineReward(index: index, now: now)
            case 14..<18:
                let old = mix == .headlineHalfClosing && slot.isMultiple(of: 2)
                return decision(group: group, slot: slot, now: old ? now.addingTimeInterval(-3600) : now)
            default: return routing(index: index, now: now)
            }
        case .join:
            switch slot {
            case 0..<9: return decision(group: group, slot: slot, now: now)
            case 9..<18: return joinedReward(group: group, decisionSlot: slot - 9, index: index, now: now)
            default: return routing(index: index, now: now)
            }
        }
    }

    static func features(_ dimension: Int, seed: Int) -> [Double] {
        (0..<dimension).map { Double((seed &* 31 &+ $0 &* 17) % 200) / 100 - 1 }
    }

    static func inlineReward(index: Int, now: Date) -> Event {
        let policy = policies[(index / 7) % policies.count]
        return .reward(
            try! Reward(
                eventID: UUID(), occurredAt: now, userID: "user-\(index % users)",
                source: sources[(index / 3) % sources.count], reward: Double(index % 21) / 10 - 1,
                target: .inline(
                    policy: policy.name, armID: "arm-\(index % arms)", features: features(policy.dimension, seed: index)
                )
            ))
    }

    /// The decision of `slot` in `group`: user, source, policy and arm follow from the pair, so
    /// a joined reward can name its user and source without looking it up.
    static func decision(group: Int, slot: Int, now: Date) -> Event {
        let key = decisionKey(group: group, slot: slot)
        let policy = policies[key % policies.count]
        return .decision(
            try! Decision(
                eventID: UUID(), occurredAt: now, userID: "user-\(key % users)", source: sources[key % sources.count],
                decisionID: decisionUUID(group: group, slot: slot), policy: policy.name,
                policyVersion: "\(policy.name)@1.0.0+a3f9c2e1", armID: "arm-\(key % arms)", propensity: 0.3,
                features: features(policy.dimension, seed: key)))
    }

    static func joinedReward(group: Int, decisionSlot: Int, index: Int, now: Date) -> Event {
        let key = decisionKey(group: group, slot: decisionSlot)
        return .reward(
            try! Reward(
                eventID: UUID(), occurredAt: now, userID: "user-\(key % users)", source: sources[key % sources.count],
                reward: Double(index % 21) / 10 - 1,
                target: .decision(id: decisionUUID(group: group, slot: decisionSlot))))
    }

    static func routing(index: Int, now: Date) -> Event {
        .routing(
            try! RoutingOutcome(
                eventID: UUID(), occurredAt: now, userID: "user-\(index % users)",
                source: sources[(index / 5) % sources.count], inferenceID: UUID(), taskType: .code,
                taskTypeSource: .classifier, policyVersion: "routing_v1@1.0.0+a3f9c2e1", model: "arm-\(index % arms)",
                provider: "p", constraintBand: .standard, reward: 0.5, latencyMs: 800, costUSD: 0.003, completed: true,
                banditUpdate: RoutingOutcome.BanditUpdate(policy: "routing_v1", features: features(8, seed: index))))
    }

    static func decisionKey(group: Int, slot: Int) -> Int { group &* 20 &+ slot &* 7 &+ 3 }

    /// Deterministic decision ids, so rewards can name the decision of their group.
    static func decisionUUID(group: Int, slot: Int) -> UUID {
        let value = UInt64(group) << 5 | UInt64(slot)
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 { bytes[15 - index] = UInt8((value >> (8 * UInt64(index))) & 0xff) }
        return .version4(bytes)
    }

    static func outgoing(_ event: Event) -> NATSConnection.OutgoingMessage {
        NATSConnection.OutgoingMessage(
            subject: event.subject.rawValue, headers: ["Nats-Msg-Id": event.eventID.uuidString],
            body: Array(try! JSONEncoder().encode(event)))
    }
}
