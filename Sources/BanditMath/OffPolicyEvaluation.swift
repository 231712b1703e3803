/// The policy `report ope` evaluates (CONTRACT section 9).
public enum EvaluationCandidate: String, Sendable, CaseIterable, Codable {
    /// Greedy with respect to ridge state fitted on the training split only.
    case learned
    /// The logging policy itself: its value is the observed mean reward.
    case logging
    /// Uniform over each decision's logged candidates.
    case uniform
}

/// The knobs of one evaluation.
public struct OffPolicySettings: Sendable, Equatable {
    public static let defaultHoldout = 0.3
    public static let defaultResamples = 1_000
    public static let defaultSeed: UInt64 = 1
    /// Switch-DR uses the importance-weighted correction only where w ≤ 20, i.e. where the
    /// logged propensity is at least 1/20 of the target's probability; beyond that the reward
    /// model alone. 20 keeps the correction for the greedy and ordinary exploration arms of the
    /// shipped ε-greedy policies with few arms and drops it for the rare, heavy-weight plays
    /// (ε = 0.1 over 8 arms logs 0.0125, w = 80) that dominate DR's variance.
    public static let defaultSwitchThreshold = 20.0

    public var candidate: EvaluationCandidate
    /// Fraction of decisions held out for evaluation, 0 < holdout < 1.
    public var holdout: Double
    /// Ridge λ of the learned policy and of the reward model (the policy's λ).
    public var lambda: Double
    public var resamples: Int
    public var seed: UInt64
    public var switchThreshold: Double
    /// The learned policy uses each user's own state (as `banditd score` would) instead of the
    /// state of all users summed per arm.
    public var perUserState: Bool

    public init(
        candidate: EvaluationCandidate, holdout: Double = defaultHoldout, lambda: Double = 1,
        resamples: Int = defaultResamples, seed: UInt64 = defaultSeed, switchThreshold: Double = defaultSwitchThreshold,
        perUserState: Bool = false
    ) {
        self.candidate = candidate
        self.holdout = holdout
        self.lambda = lambda
        self.resamples = resamples
        self.seed = seed
        self.switchThreshold = switchThreshold
        self.perUserState = perUserState
    }
}

/// An estimate with its bootstrap interval; nil members where undefined (no held-out decision,
/// SNIPS without agreement).
public struct EstimateInterval: Sendable, Equatable {
    public var value: Double?
    public var lo: Double?
    public var hi: Double?

    public init(value: Double?, lo: Double?, hi: Double?) {
        self.value = value
        self.lo = lo
        self.hi = hi
    }
}

/// A held-out decision with the target policy's distribution over its candidates: what a
/// planted world needs to compute the target's true value on exactly the evaluated contexts.
public struct HeldOutDecision: Sendable, Equatable {
    public var key: DecisionKey
    public var features: [Double]
    public var candidates: [String]
    public var armID: String
    public var reward: Double
    /// π(candidates[k] | x); nil when unknown (the logging policy where no probabilities were logged).
    public var targetProbabilities: [Double]?

    public init(
        key: DecisionKey, features: [Double], candidates: [String], armID: String, reward: Double,
        targetProbabilities: [Double]?
    ) {
        self.key = key
        self.features = features
        self.candidates = candidates
        self.armID = armID
        self.reward = reward
        self.targetProbabilities = targetProbabilities
    }
}

/// Off-policy evaluation of one candidate policy on logged decisions (CONTRACT section 9), pure:
///
/// 1. Rows are ordered by `decision_id` and split by ``HoldoutSplit`` (held out: `holdout`).
/// 2. On the training split, raw ridge sums per arm are fitted — summed over all users, the way
///    `report convergence` pools agents — and solved with the policy's λ: θ_a = (λI + a)⁻¹ b.
///    The reward model is q̂(x, a) = θ_aᵀx (an arm without training data: the prior, 0).
/// 3. The candidate's distribution π(·|x) over each held-out decision's logged candidates:
///    `learned` puts 1 on the candidate with the largest θᵀx (ties: ``ArmTieBreak``; with
///    `perUserState`, θ from the decision's user's own training rows), `uniform` 1/k on each,
///    `logging` is the logged distribution, weight exactly 1 on the played arm and the played arm's
///    q̂(x, a) as its model term, so that its DR is its observed mean reward.
/// 4. Each held-out decision becomes an ``OffPolicySample``; the estimators of
///    ``OffPolicyEstimators`` give the values and ``PercentileBootstrap`` the intervals.
///
/// The output depends on the set of rows, not on their order.
public struct OffPolicyEvaluation: Sendable {
    public let settings: OffPolicySettings
    /// Held-out decisions evaluated.
    public let count: Int
    /// Training decisions the state and the reward model were fitted on.
    public let trainingCount: Int
    /// Rows left out because they fail ``LoggedInteraction/isWellFormed(dimension:)``.
    public let malformedCount: Int
    /// (Σ w)² / Σ w² of the candidate's weights on the held-out decisions.
    public let effectiveSampleSize: Double
    /// The logging policy's observed mean reward on the held-out decisions.
    public let loggingValue: Double?
    public let estimates: [OffPolicyEstimator: EstimateInterval]
    /// DR minus the logging policy's observed mean reward, with the interval of that difference
    /// over the same bootstrap resamples (paired: both on the same decisions).
    public let drLift: EstimateInterval
    public let heldOut: [HeldOutDecision]

    /// - Precondition: 0 < holdout < 1, λ finite and > 0, resamples ≥ 1, dimension ≥ 1.
    public init(interactions: [LoggedInteraction], dimension: Int, settings: OffPolicySettings) {
        precondition(settings.holdout > 0 && settings.holdout < 1, "holdout must lie in (0, 1)")
        precondition(settings.lambda > 0 && settings.lambda.isFinite, "lambda must be finite and > 0")
        precondition(dimension >= 1, "dimension must be positive")
        self.settings = settings
        let rows = interactions.sorted { $0.key < $1.key }
        var training: [LoggedInteraction] = []
        var evaluated: [LoggedInteraction] = []
        var malformed = 0
        for row in rows {
            guard row.isWellFormed(dimension: dimension) else {
                malformed += 1
                continue
            }
            if HoldoutSplit.isHeldOut(row.key, fraction: settings.holdout) {
                evaluated.append(row)
            } else {
                training.append(row)
            }
        }
        let model = RewardModel(training: training, dimension: dimension, lambda: settings.lambda, perUser: false)
        let policyModel =
            settings.candidate == .learned && settings.perUserState
            ? RewardModel(training: training, dimension: dimension, lambda: settings.lambda, perUser: true) : model

        var samples: [OffPolicySample] = []
        var heldOut: [HeldOutDecision] = []
        samples.reserveCapacity(evaluated.count)
        heldOut.reserveCapacity(evaluated.count)
        var rewardSum = 0.0
        for row in evaluated {
            let target = Self.targetDistribution(row, candidate: settings.candidate, policyModel: policyModel)
            let loggedPrediction = model.predict(arm: row.armID, user: row.userID, features: row.features)
            let weight: Double
            let modelValueOfTarget: Double
            if let target, settings.candidate != .logging {
                var targetOfLogged = 0.0
                var value = 0.0
                for k in row.candidates.indices where target[k] > 0 {
                    if ArmIdentity.same(row.candidates[k], row.armID) { targetOfLogged += target[k] }
                    value += target[k] * model.predict(arm: row.candidates[k], user: row.userID, features: row.features)
                }
                weight = targetOfLogged / row.propensity
                modelValueOfTarget = value
            } else {
                // The logging policy: weight 1, and for the model term q̂(x, a) of the arm it played — a
                // draw from its own distribution, so an unbiased one-draw estimate of Σ μ(a'|x) q̂(x, a')
                // (also where the distribution was not logged). Then DR is the observed mean reward: the
                // logging policy's value, as CONTRACT section 9 defines it, whatever the estimator.
                weight = 1
                modelValueOfTarget = loggedPrediction
            }
            guard
                let sample = OffPolicySample(
                    reward: row.reward, weight: weight, modelValueOfTarget: modelValueOfTarget,
                    modelValueOfLoggedArm: loggedPrediction)
            else {
                malformed += 1
                continue
            }
            samples.append(sample)
            rewardSum += row.reward
            heldOut.append(
                HeldOutDecision(
                    key: row.key, features: row.features, candidates: row.candidates, armID: row.armID,
                    reward: row.reward, targetProbabilities: target))
        }
        self.count = samples.count
        self.trainingCount = training.count
        self.malformedCount = malformed
        self.heldOut = heldOut
        let loggingValue = samples.isEmpty ? nil : rewardSum / Double(samples.count)
        self.loggingValue = loggingValue
        self.effectiveSampleSize = OffPolicyEstimators.effectiveSampleSize(samples)
        let values = OffPolicyEstimators.values(samples, switchThreshold: settings.switchThreshold)
        let intervals = PercentileBootstrap.intervals(
            samples, resamples: settings.resamples, seed: settings.seed, switchThreshold: settings.switchThreshold)
        var estimates: [OffPolicyEstimator: EstimateInterval] = [:]
        for estimator in OffPolicyEstimator.allCases {
            let value = values?[estimator]
            let interval = value == nil ? nil : intervals.estimates[estimator]
            estimates[estimator] = EstimateInterval(value: value, lo: interval?.lo, hi: interval?.hi)
        }
        self.estimates = estimates
        let lift = values?.dr.flatMap { dr in loggingValue.map { dr - $0 } }
        self.drLift = EstimateInterval(
            value: lift, lo: lift == nil ? nil : intervals.drLift?.lo, hi: lift == nil ? nil : intervals.drLift?.hi)
    }

    /// π(·|x) over the row's candidates (nil: the logging policy, distribution not logged).
    static func targetDistribution(
        _ row: LoggedInteraction, candidate: EvaluationCandidate, policyModel: RewardModel
    ) -> [Double]? {
        let k = row.candidates.count
        switch candidate {
        case .logging:
            return row.probabilities
        case .uniform:
            return [Double](repeating: 1 / Double(k), count: k)
        case .learned:
            var best = 0
            var bestValue = -Double.infinity
            for index in row.candidates.indices {
                let value = policyModel.predict(arm: row.candidates[index], user: row.userID, features: row.features)
                if value > bestValue
                    || (value == bestValue && ArmTieBreak.precedes(row.candidates[index], row.candidates[best]))
                {
                    best = index
                    bestValue = value
                }
            }
            var distribution = [Double](repeating: 0, count: k)
            distribution[best] = 1
            return distribution
        }
    }
}

/// Ridge regression per arm (optionally per user and arm) on the training split: raw sums as
/// `bandit_state` keeps them, solved once per arm.
struct RewardModel: Sendable {
    let perUser: Bool
    private let solutions: [ArmIdentity.Key: RidgeSolution]

    init(training: [LoggedInteraction], dimension: Int, lambda: Double, perUser: Bool) {
        self.perUser = perUser
        var sums: [ArmIdentity.Key: ArmStatistics] = [:]
        for row in training {
            let key = ArmIdentity.Key(arm: row.armID, user: perUser ? row.userID : nil)
            sums[key, default: .zero(dimension: dimension)].add(features: row.features, reward: row.reward)
        }
        // A state that cannot be solved (it cannot happen for finite features: λ > 0) counts as
        // the prior, as `score` does.
        self.solutions = sums.compactMapValues { try? RidgeSolution(statistics: $0, lambda: lambda) }
    }

    /// θᵀx of the arm (the prior 0 without training data).
    func predict(arm: String, user: String, features: [Double]) -> Double {
        let key = ArmIdentity.Key(arm: arm, user: perUser ? user : nil)
        guard let solution = solutions[key], let mean = try? solution.mean(features: features) else { return 0 }
        return mean
    }
}
