import BanditCore
import Foundation

/// How a reward came to a decision (`decisions.reward_origin`, CONTRACT section 8).
public enum RewardOrigin: String, Sendable, Equatable {
    /// A joined reward that came before the decision was closed.
    case event
    /// Closed with the policy's default reward when its wait window passed.
    case defaultReward = "default"
    /// A joined reward for a decision closed with the default: corrects it exactly.
    case late
}

/// A logged decision as a reward joins it (read `FOR UPDATE`).
public struct LoggedDecision: Sendable, Equatable {
    public var id: UUID
    public var userID: String
    public var source: String
    public var policy: String
    public var armID: String
    public var features: [Double]
    /// The reward event that joined it, if any (null for a default closing).
    public var rewardedBy: UUID?
    public var reward: Double?
    public var origin: RewardOrigin?
    /// The decision's event time: the time that weighs its updates under forgetting.
    public var occurredAt: Date

    public init(
        id: UUID, userID: String, source: String, policy: String, armID: String, features: [Double],
        rewardedBy: UUID? = nil, reward: Double? = nil, origin: RewardOrigin? = nil, occurredAt: Date
    ) {
        self.id = id
        self.userID = userID
        self.source = source
        self.policy = policy
        self.armID = armID
        self.features = features
        self.rewardedBy = rewardedBy
        self.reward = reward
        self.origin = origin
        self.occurredAt = occurredAt
    }
}

/// A reward that names its decision: from a message of the batch or from `parked_rewards`.
public struct JoiningReward: Sendable, Equatable {
    public var eventID: UUID
    public var decisionID: UUID
    public var userID: String
    public var source: String
    public var reward: Double

    public init(eventID: UUID, decisionID: UUID, userID: String, source: String, reward: Double) {
        self.eventID = eventID
        self.decisionID = decisionID
        self.userID = userID
        self.source = source
        self.reward = reward
    }
}

/// What a joining reward does to its decision: the rules of CONTRACT sections 2 and 8, pure.
public enum RewardJoinVerdict: Sendable, Equatable {
    /// The decision is open: one full update (n + 1, a += x xᵀ, b += r x, reward_sum += r).
    case onTime
    /// The decision was closed with `defaultReward`: b += (r − default) x, reward_sum += r − default.
    case late(defaultReward: Double)
    /// The decision is not logged (yet).
    case decisionMissing
    case rejected(RejectionReason, detail: String)
}

public enum RewardJoin {
    /// Judges `reward` against its locked `decision`. `earlierInBatch` is a reward of the same
    /// transaction that already took this decision (the first one wins).
    public static func judge(
        _ reward: JoiningReward, decision: LoggedDecision?, earlierInBatch: UUID?
    ) -> RewardJoinVerdict {
        guard let decision else { return .decisionMissing }
        let id = decision.id.uuidString.lowercased()
        // A mismatch takes precedence over already-rewarded (CONTRACT section 2).
        if !decision.userID.utf8.elementsEqual(reward.userID.utf8)
            || !decision.source.utf8.elementsEqual(reward.source.utf8)
        {
            return .rejected(
                .decisionMismatch,
                detail:
                    "decision \(id) belongs to user_id/source \(decision.userID)/\(decision.source), the reward says \(reward.userID)/\(reward.source)"
            )
        }
        if let earlier = earlierInBatch ?? decision.rewardedBy {
            return .rejected(
                .decisionAlreadyRewarded,
                detail: "decision \(id) was already rewarded by event \(earlier.uuidString.lowercased())")
        }
        if decision.origin == .defaultReward, let defaultReward = decision.reward {
            return .late(defaultReward: defaultReward)
        }
        if decision.reward != nil {
            // Rewarded without an event id: only a default closing does that (handled above).
            return .rejected(.decisionAlreadyRewarded, detail: "decision \(id) already has a reward")
        }
        return .onTime
    }
}
