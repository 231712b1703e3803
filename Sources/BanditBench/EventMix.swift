import BanditCore
import Foundation
import NATSKit

/// The benchmark's traffic: 70% feedback.reward, 20% signals.decision, 10% feedback.routing,
/// over 500 users and 8 arms.
enum EventMix {
    static func make(_ mix: Mix, count: Int) -> [Event] {
        let now = Date()
        return (0..<count).map { event(index: $0, mix: mix, now: now) }
    }

    static func event(index: Int, mix: Mix, now: Date) -> Event {
        let user = "user-\(index % 500)"
        let arm = "arm-\(index % 8)"
        let slot = index % 10
        func features(_ dimension: Int) -> [Double] {
            (0..<dimension).map { Double((index &* 31 &+ $0 &* 17) % 200) / 100 - 1 }
        }
        // Decisions come first in each group of ten so that joined rewards usually find theirs.
        let decisionID = decisionUUID(group: index / 10, slot: slot % 2)
        switch slot {
        case 0, 1:
            return .decision(
                try! Decision(
                    eventID: UUID(), occurredAt: now, userID: user,
                    decisionID: decisionUUID(group: index / 10, slot: slot),
                    policy: "egreedy_v1", policyVersion: "egreedy_v1@1.0.0+a3f9c2e1", armID: arm, propensity: 0.3,
                    features: features(7)))
        case 9:
            return .routing(
                try! RoutingOutcome(
                    eventID: UUID(), occurredAt: now, userID: user, inferenceID: UUID(), taskType: .code,
                    taskTypeSource: .classifier, policyVersion: "routing_v1@1.0.0+a3f9c2e1", model: arm, provider: "p",
                    constraintBand: .standard, reward: 0.5, latencyMs: 800, costUSD: 0.003, completed: true,
                    banditUpdate: RoutingOutcome.BanditUpdate(policy: "routing_v1", features: features(8))))
        default:
            let reward = Double(index % 21) / 10 - 1
            switch mix {
            case .inline:
                return .reward(
                    try! Reward(
                        eventID: UUID(), occurredAt: now, userID: user, reward: reward,
                        target: .inline(policy: "linucb_v1", armID: arm, features: features(5))))
            case .joined:
                // Slots 2…8: two of them reward this group's decisions; the rest are inline.
                if slot <= 3 {
                    // The reward's user and source must be its decision's.
                    let decisionUser = "user-\((index / 10 * 10 + slot % 2) % 500)"
                    return .reward(
                        try! Reward(
                            eventID: UUID(), occurredAt: now, userID: decisionUser, reward: reward,
                            target: .decision(id: decisionID)))
                }
                return .reward(
                    try! Reward(
                        eventID: UUID(), occurredAt: now, userID: user, reward: reward,
                        target: .inline(policy: "linucb_v1", armID: arm, features: features(5))))
            }
        }
    }

    /// Deterministic decision ids, so rewards can name the decision of their group.
    static func decisionUUID(group: Int, slot: Int) -> UUID {
        let value = UInt64(group) << 1 | UInt64(slot)
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 { bytes[15 - index] = UInt8((value >> (8 * UInt64(index))) & 0xff) }
        bytes[6] = 0x40 | (bytes[6] & 0x0f)
        bytes[8] = 0x80 | (bytes[8] & 0x3f)
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }

    static func outgoing(_ event: Event) -> NATSConnection.OutgoingMessage {
        NATSConnection.OutgoingMessage(
            subject: event.subject.rawValue, headers: ["Nats-Msg-Id": event.eventID.uuidString],
            body: Array(try! JSONEncoder().encode(event)))
    }
}
