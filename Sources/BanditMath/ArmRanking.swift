/// How ``ArmRanking`` turns a ridge solution into a score.
public enum ScoringRule: Sendable, Equatable {
    /// θᵀx + α·sqrt(xᵀA⁻¹x).
    case linUCB(alpha: Double)
    /// θᵀx (ε-greedy ranks by its greedy criterion).
    case mean
}

/// One line of `banditd score`: `{"arm_id","score","mean","n"}`.
public struct RankedArm: Sendable, Equatable {
    public var armID: String
    public var score: Double
    public var mean: Double
    /// Updates in the stored state (0 for an arm without state).
    public var n: Int64
    /// Why the stored state was unusable and the arm was scored at the prior instead
    /// (nil when the state was used).
    public var fallback: BanditMathError?

    public init(armID: String, score: Double, mean: Double, n: Int64, fallback: BanditMathError? = nil) {
        self.armID = armID
        self.score = score
        self.mean = mean
        self.n = n
        self.fallback = fallback
    }
}

/// Ranks arms for one context, best first.
public enum ArmRanking {
    /// Scores every arm and sorts by score, descending; equal scores are ordered by `arm_id`
    /// in UTF-8 byte order (``ArmTieBreak``), so the output is deterministic and, for
    /// ``ScoringRule/mean``, its first arm is ε-greedy's greedy arm.
    ///
    /// `arms` is a list, not a dictionary keyed by `String`: Swift's `String ==` is canonical
    /// equivalence, so a dictionary would merge arm ids that PostgreSQL keeps apart ("é" vs
    /// "e\u{301}"). Arms without state are passed as ``ArmStatistics/zero(dimension:)`` and
    /// score at the prior. An arm whose stored state cannot be used (non-finite sums, not
    /// positive definite, another dimension) is scored at the prior too and carries the reason
    /// in ``RankedArm/fallback``: no NaN is ever ranked.
    ///
    /// - Throws: only when the features themselves are unusable (non-finite), since then not
    ///   even the prior has a value.
    public static func rank(
        arms: [(armID: String, statistics: ArmStatistics)], features: [Double], lambda: Double, rule: ScoringRule
    ) throws(BanditMathError) -> [RankedArm] {
        let alpha: Double
        switch rule {
        case .linUCB(let value): alpha = value
        case .mean: alpha = 0
        }
        let prior = try LinUCB.prior(features: features, lambda: lambda, alpha: alpha)
        var ranked: [RankedArm] = []
        ranked.reserveCapacity(arms.count)
        for (armID, statistics) in arms {
            do {
                let value = try score(statistics: statistics, features: features, lambda: lambda, rule: rule)
                ranked.append(RankedArm(armID: armID, score: value.score, mean: value.mean, n: statistics.n))
            } catch {
                ranked.append(
                    RankedArm(armID: armID, score: prior.score, mean: prior.mean, n: statistics.n, fallback: error))
            }
        }
        ranked.sort { lhs, rhs in
            lhs.score > rhs.score || (lhs.score == rhs.score && ArmTieBreak.precedes(lhs.armID, rhs.armID))
        }
        return ranked
    }

    private static func score(
        statistics: ArmStatistics, features: [Double], lambda: Double, rule: ScoringRule
    ) throws(BanditMathError) -> ArmScore {
        switch rule {
        case .linUCB(let alpha):
            return try LinUCB.score(statistics: statistics, features: features, lambda: lambda, alpha: alpha)
        case .mean:
            let mean = try RidgeSolution(statistics: statistics, lambda: lambda).mean(features: features)
            return ArmScore(mean: mean, uncertainty: 0, score: mean)
        }
    }
}
