/// One arm's value for one context: `mean` = θᵀx, `uncertainty` = sqrt(xᵀA⁻¹x), and
/// `score` = mean + α·uncertainty (LinUCB) or the mean (ε-greedy). Always finite.
public struct ArmScore: Sendable, Equatable {
    public var mean: Double
    public var uncertainty: Double
    public var score: Double

    public init(mean: Double, uncertainty: Double, score: Double) {
        self.mean = mean
        self.uncertainty = uncertainty
        self.score = score
    }
}

/// LinUCB scoring from raw sums: θ = (λI + a)⁻¹b, score = θᵀx + α·sqrt(xᵀ(λI + a)⁻¹x).
public enum LinUCB {
    /// Scores one arm. An arm without state (a = 0, b = 0) gets exactly the prior:
    /// mean 0, uncertainty sqrt(xᵀx/λ).
    ///
    /// - Throws: a ``BanditMathError`` when the statistics cannot be used (non-finite or not a
    ///   sum of outer products, see ``CholeskyFactor``) or the features are invalid; the caller
    ///   then uses ``prior(features:lambda:alpha:)``. The result is never NaN or infinite.
    /// - Precondition: λ finite and > 0, α finite and ≥ 0.
    public static func score(
        statistics: ArmStatistics, features x: [Double], lambda: Double, alpha: Double
    ) throws(BanditMathError) -> ArmScore {
        precondition(alpha >= 0 && alpha.isFinite, "alpha must be finite and >= 0, got \(alpha)")
        if statistics.a.allSatisfy({ $0 == 0 }) && statistics.b.allSatisfy({ $0 == 0 }) {
            guard x.count == statistics.dimension else {
                throw .dimensionMismatch(expected: statistics.dimension, actual: x.count)
            }
            return try prior(features: x, lambda: lambda, alpha: alpha)
        }
        let solution = try RidgeSolution(statistics: statistics, lambda: lambda)
        return try combine(
            mean: solution.mean(features: x), uncertainty: solution.uncertainty(features: x), alpha: alpha)
    }

    /// The score of an arm with no data: θ = 0, so mean 0 and uncertainty sqrt(xᵀx/λ).
    ///
    /// - Throws: ``BanditMathError/nonFiniteFeatures`` or ``BanditMathError/nonFiniteResult``.
    public static func prior(features x: [Double], lambda: Double, alpha: Double) throws(BanditMathError) -> ArmScore {
        precondition(lambda > 0 && lambda.isFinite, "ridge lambda must be finite and > 0, got \(lambda)")
        precondition(alpha >= 0 && alpha.isFinite, "alpha must be finite and >= 0, got \(alpha)")
        guard x.allSatisfy(\.isFinite) else { throw .nonFiniteFeatures }
        var norm = 0.0
        for value in x { norm += value * value }
        return try combine(mean: 0, uncertainty: (norm / lambda).squareRoot(), alpha: alpha)
    }

    private static func combine(mean: Double, uncertainty: Double, alpha: Double) throws(BanditMathError) -> ArmScore {
        // α·0 is 0 even when α is 0, so a finite uncertainty and mean give a finite score
        // unless the sum overflows.
        let score = mean + alpha * uncertainty
        guard mean.isFinite, uncertainty.isFinite, score.isFinite else { throw .nonFiniteResult }
        return ArmScore(mean: mean, uncertainty: uncertainty, score: score)
    }
}
