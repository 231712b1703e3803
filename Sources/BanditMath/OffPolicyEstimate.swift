/// One logged decision with its reward, as off-policy evaluation sees it: the reward observed,
/// the logging policy's probability of the arm it played (`decisions.propensity`), and the
/// target policy's probability of that same arm in that context.
public struct LoggedOutcome: Sendable, Equatable {
    public let reward: Double
    public let loggingPropensity: Double
    public let targetProbability: Double

    /// Nil unless the reward is finite, 0 < loggingPropensity ≤ 1, 0 ≤ targetProbability ≤ 1 and
    /// the importance weight target/logging is finite (a report skips such rows, it does not crash).
    public init?(reward: Double, loggingPropensity: Double, targetProbability: Double) {
        guard reward.isFinite, loggingPropensity > 0, loggingPropensity <= 1,
            targetProbability >= 0, targetProbability <= 1,
            (targetProbability / loggingPropensity).isFinite
        else { return nil }
        self.reward = reward
        self.loggingPropensity = loggingPropensity
        self.targetProbability = targetProbability
    }

    /// A deterministic target policy: probability 1 if it would have played the logged arm, else 0.
    public init?(reward: Double, loggingPropensity: Double, targetPlaysLoggedArm: Bool) {
        self.init(reward: reward, loggingPropensity: loggingPropensity, targetProbability: targetPlaysLoggedArm ? 1 : 0)
    }

    /// w = π(a|x) / μ(a|x).
    public var importanceWeight: Double { targetProbability / loggingPropensity }
}

/// Off-policy estimates of a target policy's mean reward from logged outcomes (n of them,
/// weights wᵢ = πᵢ/μᵢ, rewards rᵢ):
///
/// - IPS = Σ wᵢrᵢ / n (unbiased when μ > 0 wherever π > 0; high variance),
/// - SNIPS = Σ wᵢrᵢ / Σ wᵢ (self-normalized: biased, far lower variance; nil when Σ wᵢ = 0,
///   i.e. the target never agrees with the log),
/// - effective sample size (Σ wᵢ)² / Σ wᵢ² (n when all weights are equal, small when a few
///   weights dominate).
///
/// Sums are accumulated relative to the largest weight, so tiny propensities do not overflow
/// the squares.
public struct OffPolicyEstimate: Sendable, Equatable {
    public let count: Int
    public let ips: Double
    public let snips: Double?
    public let effectiveSampleSize: Double

    /// Nil for no outcomes.
    public init?(_ outcomes: some Collection<LoggedOutcome>) {
        guard !outcomes.isEmpty else { return nil }
        let largest = outcomes.lazy.map(\.importanceWeight).max()!
        guard largest > 0 else {
            // The target gives probability 0 to every logged arm.
            self.init(count: outcomes.count, ips: 0, snips: nil, effectiveSampleSize: 0)
            return
        }
        var weights = 0.0
        var squares = 0.0
        var weighted = 0.0
        for outcome in outcomes {
            let w = outcome.importanceWeight / largest
            weights += w
            squares += w * w
            weighted += w * outcome.reward
        }
        let n = Double(outcomes.count)
        self.init(
            count: outcomes.count,
            ips: largest * (weighted / n),
            snips: weighted / weights,
            effectiveSampleSize: weights * weights / squares
        )
    }

    public init(count: Int, ips: Double, snips: Double?, effectiveSampleSize: Double) {
        self.count = count
        self.ips = ips
        self.snips = snips
        self.effectiveSampleSize = effectiveSampleSize
    }
}
