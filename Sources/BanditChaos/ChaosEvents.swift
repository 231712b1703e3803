import BanditCore
import BanditMath
import Foundation
import NATSKit
import TestServers

/// A known, deterministic set of messages and what the database must hold once it is drained.
///
/// Per group of 20 messages: 2 decisions (egreedy_v1, d=7), 2 rewards joining them, 8 inline
/// rewards (linucb_v1, d=5), 2 routing outcomes with a bandit update (routing_v1, d=8), 1 without,
/// 2 task syncs (one user each), 2 tip feedbacks and 1 invalid message (json, schema, policy or
/// dimension), over 200 users and 6 arms.
struct ChaosEventSet {
    struct StateKey: Hashable, Comparable {
        var user: String
        var policy: String
        var arm: String

        static func < (lhs: StateKey, rhs: StateKey) -> Bool {
            (lhs.user, lhs.policy, lhs.arm) < (rhs.user, rhs.policy, rhs.arm)
        }
    }

    var messages: [NATSConnection.OutgoingMessage] = []
    /// event ids (lowercase) of every valid event.
    var validEventIDs: Set<String> = []
    /// Bodies of the invalid messages, keyed by Nats-Msg-Id.
    var invalidBodies: [String: [UInt8]] = [:]
    var expectedState: [StateKey: ArmStatistics] = [:]
    var decisions = 0
    var joinedRewards = 0
    var joinedRewardSum = 0.0
    var routingOutcomes = 0
    var tipFeedback = 0
    /// user → task_count.
    var userSync: [String: Int] = [:]

    var rewardUpdates: Int64 { expectedState.values.reduce(0) { $0 + $1.n } }

    init(count: Int, seed: UInt64 = 1) {
        let now = Date()
        var pendingDecisions: [Int: (user: String, arm: String, features: [Double])] = [:]
        for index in 0..<count {
            let group = index / 20
            let slot = index % 20
            let user = "chaos-user-\(index % 200)"
            let arm = "arm-\(index % 6)"
            func features(_ dimension: Int) -> [Double] {
                (0..<dimension).map { Double((index &* 37 &+ $0 &* 13 &+ Int(seed)) % 200) / 100 - 1 }
            }
            let reward = Double((index &* 7) % 21) / 10 - 1
            let event: Event
            switch slot {
            case 0, 1:
                let decisionFeatures = features(7)
                pendingDecisions[group * 2 + slot] = (user, arm, decisionFeatures)
                event = .decision(
                    try! Decision(
                        eventID: Self.uuid(seed: seed, kind: 1, index: index), occurredAt: now, userID: user,
                        decisionID: Self.uuid(seed: seed, kind: 2, index: group * 2 + slot), policy: "egreedy_v1",
                        policyVersion: "egreedy_v1@1.0.0+a3f9c2e1", armID: arm, propensity: 0.4,
                        features: decisionFeatures))
                decisions += 1
            case 2, 3:
                guard let decision = pendingDecisions.removeValue(forKey: group * 2 + slot - 2) else {
                    fatalError("decision of group \(group) missing")
                }
                event = .reward(
                    try! Reward(
                        eventID: Self.uuid(seed: seed, kind: 1, index: index), occurredAt: now, userID: decision.user,
                        reward: reward,
                        target: .decision(id: Self.uuid(seed: seed, kind: 2, index: group * 2 + slot - 2))
                    ))
                expectedState[
                    StateKey(user: decision.user, policy: "egreedy_v1", arm: decision.arm), default: .zero(dimension: 7)
                ]
                .add(features: decision.features, reward: reward)
                joinedRewards += 1
                joinedRewardSum += reward
            case 4...11:
                let x = features(5)
                event = .reward(
                    try! Reward(
                        eventID: Self.uuid(seed: seed, kind: 1, index: index), occurredAt: now, userID: user,
                        reward: reward, target: .inline(policy: "linucb_v1", armID: arm, features: x)))
                expectedState[StateKey(user: user, policy: "linucb_v1", arm: arm), default: .zero(dimension: 5)]
                    .add(features: x, reward: reward)
            case 12, 13, 14:
                let x = features(8)
                let update = slot == 14 ? nil : RoutingOutcome.BanditUpdate(policy: "routing_v1", features: x)
                let routingReward = abs(reward)
                event = .routing(
                    try! RoutingOutcome(
                        eventID: Self.uuid(seed: seed, kind: 1, index: index), occurredAt: now, userID: user,
                        inferenceID: Self.uuid(seed: seed, kind: 3, index: index), taskType: .code,
                        taskTypeSource: .classifier, policyVersion: "routing_v1@1.0.0+a3f9c2e1", model: arm,
                        provider: "p", constraintBand: .standard, reward: routingReward, latencyMs: 800, costUSD: 0.003,
                        completed: true, banditUpdate: update))
                if update != nil {
                    expectedState[StateKey(user: user, policy: "routing_v1", arm: arm), default: .zero(dimension: 8)]
                        .add(features: x, reward: routingReward)
                }
                routingOutcomes += 1
            case 15, 16:
                let syncUser = "chaos-sync-\(index)"
                event = .taskSynced(
                    try! TaskSynced(
                        eventID: Self.uuid(seed: seed, kind: 1, index: index), occurredAt: now, userID: syncUser,
                        taskCount: index % 1000))
                userSync[syncUser] = index % 1000
            case 17, 18:
                event = .tipFeedback(
                    try! TipFeedback(
                        eventID: Self.uuid(seed: seed, kind: 1, index: index), occurredAt: now, userID: user,
                        tipID: "tip-\(index % 5)", action: TipAction.allCases[index % 4]))
                tipFeedback += 1
            default:
                let id = Self.uuid(seed: seed, kind: 1, index: index).uuidString.lowercased()
                let body: String
                let subject: String
                switch group % 4 {
                case 0:
                    subject = "signals.task.synced"
                    body = #"{"event_id":"\#(id)","schema_version":1,"#
                case 1:
                    subject = "signals.tip.feedback"
                    body =
                        #"{"event_id":"\#(id)","schema_version":1,"occurred_at":"2026-04-25T10:00:00Z","user_id":"u","tip_id":"t","action":"maybe-\#(index)"}"#
                case 2:
                    subject = "feedback.reward"
                    body =
                        #"{"event_id":"\#(id)","schema_version":1,"occurred_at":"2026-04-25T10:00:00Z","user_id":"u","reward":0.5,"policy":"nope_v\#(index)","arm_id":"a","features":[1,2,3,4,5]}"#
                default:
                    subject = "feedback.reward"
                    body =
                        #"{"event_id":"\#(id)","schema_version":1,"occurred_at":"2026-04-25T10:00:00Z","user_id":"u","reward":0.5,"policy":"linucb_v1","arm_id":"a","features":[1,2,\#(index % 10)]}"#
                }
                let msgID = "invalid-\(id)"
                invalidBodies[msgID] = Array(body.utf8)
                messages.append(
                    NATSConnection.OutgoingMessage(
                        subject: subject, headers: ["Nats-Msg-Id": msgID], body: Array(body.utf8)))
                continue
            }
            validEventIDs.insert(event.eventID.uuidString.lowercased())
            messages.append(
                NATSConnection.OutgoingMessage(
                    subject: event.subject.rawValue, headers: ["Nats-Msg-Id": event.eventID.uuidString],
                    body: Array(try! JSONEncoder().encode(event))))
        }
    }

    /// Deterministic version-4 UUIDs: kind 1 event ids, 2 decision ids, 3 inference ids.
    static func uuid(seed: UInt64, kind: UInt8, index: Int) -> UUID {
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes[0] = 0xc4
        bytes[1] = kind
        for offset in 0..<4 { bytes[2 + offset] = UInt8((seed >> (8 * UInt64(offset))) & 0xff) }
        let value = UInt64(index)
        for offset in 0..<8 { bytes[15 - offset] = UInt8((value >> (8 * UInt64(offset))) & 0xff) }
        return .version4(bytes)
    }
}
