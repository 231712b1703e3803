/// The off-policy estimators of `banditd report ope` (CONTRACT section 9), by their output names.
public enum OffPolicyEstimator: String, Sendable, CaseIterable, Codable {
    case ips
    case snips
    case dm
    case dr
    case switchDR = "switch_dr"
}

/// One evaluated logged decision as the estimators see it — Open Bandit Pipeline's round-wise
/// inputs, reduced to the four numbers every estimator here needs:
///
/// - `reward` r, the reward observed for the logged arm a,
/// - `weight` w = π(a|x) / μ(a|x), the target's probability of the logged arm over the logging
///   policy's (the logged propensity),
/// - `modelValueOfTarget` q̂_π(x) = Σ_a' π(a'|x) q̂(x, a'): the reward model's value of what the
///   target policy would do in this context,
/// - `modelValueOfLoggedArm` q̂(x, a): the reward model's prediction for the arm that was played.
public struct OffPolicySample: Sendable, Equatable {
    public let reward: Double
    public let weight: Double
    public let modelValueOfTarget: Double
    public let modelValueOfLoggedArm: Double

    /// Nil unless every value is finite, 0 < loggingPropensity ≤ 1, 0 ≤ targetProbability ≤ 1 and
    /// the weight is finite (a report counts such a row as malformed; it does not crash).
    public init?(
        reward: Double, loggingPropensity: Double, targetProbability: Double, modelValueOfTarget: Double,
        modelValueOfLoggedArm: Double
    ) {
        guard loggingPropensity > 0, loggingPropensity <= 1, targetProbability >= 0, targetProbability <= 1
        else { return nil }
        self.init(
            reward: reward, weight: targetProbability / loggingPropensity, modelValueOfTarget: modelValueOfTarget,
            modelValueOfLoggedArm: modelValueOfLoggedArm)
    }

    /// A sample with its importance weight given directly (≥ 0, finite), e.g. exactly 1 when the
    /// target is the logging policy itself.
    public init?(reward: Double, weight: Double, modelValueOfTarget: Double, modelValueOfLoggedArm: Double) {
        guard reward.isFinite, weight.isFinite, weight >= 0, modelValueOfTarget.isFinite,
            modelValueOfLoggedArm.isFinite
        else { return nil }
        self.reward = reward
        self.weight = weight
        self.modelValueOfTarget = modelValueOfTarget
        self.modelValueOfLoggedArm = modelValueOfLoggedArm
    }
}
