import BanditCore
import Foundation
import NATSKit

/// The workload of `reward-window-kills`: logged decisions of two policies with a reward wait
/// window, each with a known fate — rewarded on time, closed with the default, or closed with the
/// default and then corrected by a late reward — and what the database must hold afterwards.
///
/// A decision's `occurred_at` is set when it is published, so that its window passes a chosen
/// number of seconds later (`deadlineOffset`). Late rewards (and second rewards, which must be
/// dead-lettered as `decision.already_rewarded`) are published only once the decision is seen
/// closed (or rewarded) in the database, so every decision's `reward_origin` is determined.
struct RewardLoopEventSet {
    /// The policies of the scenario's configuration file.
    struct Policy {
        var name: String
        var dimension: Int
        var defaultReward: Double
        var version: String { "\(name)@1.0.0+a3f9c2e1" }
    }

    /// What happens to a decision.
    enum Fate: String {
        /// Its reward is published with it, long before its window passes: `reward_origin = 'event'`.
        case onTime = "event"
        /// No reward ever: closed with the policy's default, `reward_origin = 'default'`.
        case byDefault = "default"
        /// Closed with the default, then a reward arrives: `reward_origin = 'late'`.
        case late = "late"
    }

    struct PlannedDecision {
        var decisionID: UUID
        var eventID: UUID
        var user: String
        var arm: String
        var policy: Policy
        var features: [Double]
        var fate: Fate
        /// Seconds after publishing at which the window passes.
        var deadlineOffset: Double
        /// The reward of an on-time or late decision.
        var reward: Double?
        /// Its reward's event id (on time or late).
        var rewardEventID: UUID?
        /// A second reward, published once the first is applied: must be `decision.already_rewarded`.
        var secondRewardEventID: UUID?

        var stateKey: ChaosEventSet.StateKey { .init(user: user, policy: policy.name, arm: arm) }
        /// The reward the decision row must end with.
        var finalReward: Double { fate == .byDefault ? policy.defaultReward : reward! }
    }

    /// egreedy_v1 (d = 7) with the shipped default 0 and linucb_v1 (d = 5) with a default of
    /// −0.25, so that a late correction by r (instead of r − default) would show in the state.
    static let policies = [
        Policy(name: "egreedy_v1", dimension: 7, defaultReward: 0),
        Policy(name: "linucb_v1", dimension: 5, defaultReward: -0.25),
    ]

    var decisions: [PlannedDecision] = []

    /// `count` decisions whose windows pass between `firstDeadline` and `lastDeadline` seconds
    /// after they are published; those rewarded on time only after `onTimeFirstDeadline`, which
    /// leaves their rewards time to be applied in spite of the kills. `fates` cycles per index.
    init(
        count: Int, seed: UInt64, firstIndex: Int = 0, fates: [Fate] = [.onTime, .byDefault, .late],
        firstDeadline: Double, onTimeFirstDeadline: Double, lastDeadline: Double, secondRewardEvery: Int = 40
    ) {
        func id(_ kind: UInt8, _ index: Int) -> UUID { ChaosEventSet.uuid(seed: seed, kind: kind, index: index) }
        for index in firstIndex..<(firstIndex + count) {
            let policy = Self.policies[index % 2]
            let fate = fates[index % fates.count]
            // A deterministic spread in [0, 1).
            let spread = Double((index &* 7919) % 1000) / 1000
            let first = fate == .onTime ? onTimeFirstDeadline : firstDeadline
            let features = (0..<policy.dimension).map {
                Double((index &* 37 &+ $0 &* 13 &+ Int(seed)) % 200) / 100 - 1
            }
            let rewarded = fate != .byDefault
            decisions.append(
                PlannedDecision(
                    decisionID: id(2, index), eventID: id(1, index), user: "loop-user-\((index / 8) % 50)",
                    arm: "arm-\((index / 2) % 4)", policy: policy, features: features, fate: fate,
                    deadlineOffset: first + (lastDeadline - first) * spread,
                    reward: rewarded ? Double((index &* 7) % 21) / 10 - 1 : nil,
                    rewardEventID: rewarded ? id(4, index) : nil,
                    secondRewardEventID: rewarded && index % secondRewardEvery < 3 ? id(5, index) : nil))
        }
    }

    /// The decisions' messages, with `occurred_at` = `publishedAt` + offset − the window, and the
    /// on-time rewards (published with them: some arrive before their decision and are parked).
    func initialMessages(publishedAt: Date, rewardWaitSeconds: Int) -> [NATSConnection.OutgoingMessage] {
        var messages: [NATSConnection.OutgoingMessage] = []
        for decision in decisions {
            let occurredAt = publishedAt.addingTimeInterval(decision.deadlineOffset - Double(rewardWaitSeconds))
            messages.append(
                Self.message(
                    .decision(
                        try! Decision(
                            eventID: decision.eventID, occurredAt: occurredAt, userID: decision.user,
                            decisionID: decision.decisionID, policy: decision.policy.name,
                            policyVersion: decision.policy.version, armID: decision.arm, propensity: 0.5,
                            features: decision.features))))
            if decision.fate == .onTime { messages.append(rewardMessage(decision, second: false, at: publishedAt)) }
        }
        return messages
    }

    /// The (late, on-time or second) reward of `decision`.
    func rewardMessage(_ decision: PlannedDecision, second: Bool, at: Date) -> NATSConnection.OutgoingMessage {
        let eventID = second ? decision.secondRewardEventID! : decision.rewardEventID!
        return Self.message(
            .reward(
                try! Reward(
                    eventID: eventID, occurredAt: at, userID: decision.user, reward: second ? 1 : decision.reward!,
                    target: .decision(id: decision.decisionID))))
    }

    static func message(_ event: Event) -> NATSConnection.OutgoingMessage {
        NATSConnection.OutgoingMessage(
            subject: event.subject.rawValue, headers: ["Nats-Msg-Id": event.eventID.uuidString.lowercased()],
            body: Array(try! JSONEncoder().encode(event)))
    }
}
