/// θ = (λI + a)⁻¹ b for one arm, with the factor kept for the uncertainty term.
public struct RidgeSolution: Sendable {
    public let factor: CholeskyFactor
    /// Ridge estimate θ (finite).
    public let theta: [Double]

    /// Factors λI + a and solves for θ. Throws (never returns NaN) when the stored sums cannot
    /// be used; see ``CholeskyFactor`` for the jitter policy.
    public init(statistics: ArmStatistics, lambda: Double) throws(BanditMathError) {
        guard statistics.b.allSatisfy(\.isFinite) else { throw .nonFiniteStatistics }
        let factor = try CholeskyFactor(statistics: statistics, lambda: lambda)
        // b is finite and has d values, so the solve can only fail by overflow.
        self.theta = try factor.solve(statistics.b)
        self.factor = factor
    }

    public var dimension: Int { factor.dimension }

    /// θᵀx.
    public func mean(features x: [Double]) throws(BanditMathError) -> Double {
        try factor.validate(x)
        var sum = 0.0
        for i in 0..<dimension { sum += theta[i] * x[i] }
        guard sum.isFinite else { throw .nonFiniteResult }
        return sum
    }

    /// sqrt(xᵀA⁻¹x), the width of the LinUCB confidence term before α.
    public func uncertainty(features x: [Double]) throws(BanditMathError) -> Double {
        try factor.inverseQuadraticForm(x).squareRoot()
    }
}
