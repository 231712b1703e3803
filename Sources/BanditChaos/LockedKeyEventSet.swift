import BanditCore
import BanditMath
import Foundation
import NATSKit

/// The fault probe's workload for `supervised-row-lock`: rewards on one bandit_state key that
/// another session keeps locked, and on many others, with what each message does if applied, so
/// the state can be recomputed over whichever subset ends up applied.
///
/// Per group of 20 messages: 3 inline rewards on the locked key, 9 on other keys (linucb_v1, d=5),
/// 2 decisions (egreedy_v1, d=7) and the 2 rewards that join them, 2 tip feedbacks, 1 task sync and
/// 1 invalid message.
struct LockedKeyEventSet {
    static let lockedUser = "chaos-locked-user"
    static let lockedArm = "arm-locked"

    enum Effect {
        case inline(ChaosEventSet.StateKey, features: [Double], reward: Double)
        case decision(id: UUID, ChaosEventSet.StateKey, features: [Double])
        case joined(decisionID: UUID, reward: Double)
        case tip
        case sync(user: String, count: Int)
    }

    struct Message {
        var outgoing: NATSConnection.OutgoingMessage
        /// `Nats-Msg-Id`: the event id (lowercase) of a valid event.
        var msgID: String
        /// What it does when applied; nil for an invalid message.
        var effect: Effect?
        /// The reason an invalid message is dead-lettered with.
        var invalidReason: String?
    }

    /// One reward on the locked key, applied before the lock is taken (the row must exist).
    var warmUp: Message
    var messages: [Message] = []

    var all: [Message] { [warmUp] + messages }

    init(count: Int, seed: UInt64) {
        let now = Date()
        func id(_ kind: UInt8, _ index: Int) -> UUID { ChaosEventSet.uuid(seed: seed, kind: kind, index: index) }
        func features(_ dimension: Int, _ index: Int) -> [Double] {
            (0..<dimension).map { Double((index &* 37 &+ $0 &* 13 &+ Int(seed)) % 200) / 100 - 1 }
        }
        func valid(_ event: Event, _ effect: Effect) -> Message {
            let msgID = event.eventID.uuidString.lowercased()
            return Message(
                outgoing: NATSConnection.OutgoingMessage(
                    subject: event.subject.rawValue, headers: ["Nats-Msg-Id": msgID],
                    body: Array(try! JSONEncoder().encode(event))),
                msgID: msgID, effect: effect)
        }
        func inline(_ index: Int, user: String, arm: String) -> Message {
            let x = features(5, index)
            let reward = Double((index &* 7) % 21) / 10 - 1
            let event = Event.reward(
                try! Reward(
                    eventID: id(1, index), occurredAt: now, userID: user, reward: reward,
                    target: .inline(policy: "linucb_v1", armID: arm, features: x)))
            return valid(
                event, .inline(.init(user: user, policy: "linucb_v1", arm: arm), features: x, reward: reward))
        }

        warmUp = inline(count, user: Self.lockedUser, arm: Self.lockedArm)
        var decisions: [Int: (id: UUID, user: String)] = [:]
        for index in 0..<count {
            let slot = index % 20
            let user = "chaos-user-\(index % 100)"
            let arm = "arm-\(index % 5)"
            switch slot {
            case 0, 7, 14:
                messages.append(inline(index, user: Self.lockedUser, arm: Self.lockedArm))
            case 1...6, 8...10:
                messages.append(inline(index, user: user, arm: arm))
            case 11, 12:
                let x = features(7, index)
                let decisionID = id(2, index)
                decisions[index + 4] = (decisionID, user)
                let event = Event.decision(
                    try! Decision(
                        eventID: id(1, index), occurredAt: now, userID: user, decisionID: decisionID,
                        policy: "egreedy_v1", policyVersion: "egreedy_v1@1.0.0+a3f9c2e1", armID: arm, propensity: 0.4,
                        features: x))
                messages.append(
                    valid(
                        event, .decision(id: decisionID, .init(user: user, policy: "egreedy_v1", arm: arm), features: x)
                    ))
            case 15, 16:
                guard let decision = decisions.removeValue(forKey: index) else { fatalError("decision of \(index)") }
                let reward = Double(index % 11) / 10 - 0.5
                let event = Event.reward(
                    try! Reward(
                        eventID: id(1, index), occurredAt: now, userID: decision.user, reward: reward,
                        target: .decision(id: decision.id)))
                messages.append(valid(event, .joined(decisionID: decision.id, reward: reward)))
            case 13, 17:
                let event = Event.tipFeedback(
                    try! TipFeedback(
                        eventID: id(1, index), occurredAt: now, userID: user, tipID: "tip-\(index % 3)",
                        action: .dismissed))
                messages.append(valid(event, .tip))
            case 18:
                let syncUser = "chaos-sync-\(index)"
                let event = Event.taskSynced(
                    try! TaskSynced(eventID: id(1, index), occurredAt: now, userID: syncUser, taskCount: index % 500))
                messages.append(valid(event, .sync(user: syncUser, count: index % 500)))
            default:
                let msgID = "invalid-\(id(1, index).uuidString.lowercased())"
                let body = Array(
                    #"{"event_id":"\#(msgID)","schema_version":1,"occurred_at":"2026-04-25T10:00:00Z","user_id":"u","reward":0.5,"policy":"linucb_v1","arm_id":"a","features":[1,2,3]}"#
                        .utf8)
                messages.append(
                    Message(
                        outgoing: NATSConnection.OutgoingMessage(
                            subject: "feedback.reward", headers: ["Nats-Msg-Id": msgID], body: body),
                        msgID: msgID, effect: nil, invalidReason: "schema.invalid"))
            }
        }
    }
}
