/// The Cholesky factor L (A = L Lᵀ) of the ridge matrix A = λI + a.
///
/// Nothing here forms A⁻¹: A⁻¹b is two triangular solves and xᵀA⁻¹x is ‖L⁻¹x‖², one forward
/// solve.
///
/// ## Failure policy (jitter)
///
/// In exact arithmetic every pivot of λI + a (a a sum of outer products, λ > 0) is at least λ.
/// A computed pivot below `(λ + jitter) / 2` therefore means rounding has swamped λ — e.g. huge
/// feature scales with collinear features, where a's entries reach 1e18 and λ = 1 is below
/// their last bit — or that the stored matrix is not a sum of outer products at all. Then the
/// factorization is retried with extra diagonal jitter τ added to A:
///
///     τ_k = d · ε · s · 100^k,  k = 1 … maximumJitterSteps (3)
///
/// where ε is `Double.ulpOfOne` and s the largest |entry| of λI + a. d·ε·s is about the rounding
/// error of the sums and of the factorization; τ_1 is a hundred times that, so directions the
/// data left undetermined (eigenvalue below rounding) get θ components of about 1 % of ‖θ‖
/// rather than noise of the order of θ, and an uncertainty of about 1/√τ. The largest step,
/// 1e6·d·ε·s (a relative 1.4e-8 at d = 64), biases well-determined directions by no more than
/// that. The τ used is kept in ``jitter``; θ and xᵀA⁻¹x are then those of (λ + τ)I + a. If the
/// last step still fails, or the input is not finite, the initializer throws and the caller
/// scores the arm at the prior. A NaN or infinite value never leaves this type.
public struct CholeskyFactor: Sendable {
    /// Number of retries with growing diagonal jitter before giving up.
    public static let maximumJitterSteps = 3

    public let dimension: Int
    public let lambda: Double
    /// Diagonal added on top of λ to factor (0 unless rounding made λI + a indefinite).
    public let jitter: Double
    /// L, lower triangular, d×d row-major (entries above the diagonal are 0).
    private let lower: ContiguousArray<Double>

    /// Factors λI + a, with a as stored in `bandit_state.a` (d×d row-major). Only the symmetric
    /// part (a + aᵀ)/2 is used, so a stored matrix that lost exact symmetry is still read sanely.
    ///
    /// - Precondition: λ is finite and > 0 (λ = 0 makes a cold arm singular; config rejects it);
    ///   `a.count == dimension²`.
    public init(lambda: Double, gram a: [Double], dimension d: Int) throws(BanditMathError) {
        precondition(lambda > 0 && lambda.isFinite, "ridge lambda must be finite and > 0, got \(lambda)")
        precondition(d > 0 && a.count == d * d, "a must hold dimension² values")

        var base = ContiguousArray<Double>(repeating: 0, count: d * d)
        var scale = lambda
        var finite = true
        a.withUnsafeBufferPointer { a in
            for i in 0..<d {
                for j in 0...i {
                    let aij = a[i * d + j]
                    let aji = a[j * d + i]
                    if !aij.isFinite || !aji.isFinite { finite = false }
                    var value = 0.5 * aij + 0.5 * aji
                    if i == j { value += lambda }
                    base[i * d + j] = value
                    scale = Swift.max(scale, Swift.abs(value))
                }
            }
        }
        guard finite else { throw .nonFiniteStatistics }
        guard scale.isFinite else { throw .nonFiniteResult }

        var lower = ContiguousArray<Double>(repeating: 0, count: d * d)
        var jitter = 0.0
        var step = 0
        while !Self.factor(base, dimension: d, jitter: jitter, floor: 0.5 * (lambda + jitter), into: &lower) {
            step += 1
            guard step <= Self.maximumJitterSteps else { throw .notPositiveDefinite }
            jitter = Double(d) * Double.ulpOfOne * scale * Self.pow100(step)
        }
        self.dimension = d
        self.lambda = lambda
        self.jitter = jitter
        self.lower = lower
    }

    /// Factors λI + `statistics.a`.
    public init(statistics: ArmStatistics, lambda: Double) throws(BanditMathError) {
        try self.init(lambda: lambda, gram: statistics.a, dimension: statistics.dimension)
    }

    /// A⁻¹ v by a forward (L y = v) and a backward (Lᵀ w = y) triangular solve.
    ///
    /// - Throws: ``BanditMathError/dimensionMismatch(expected:actual:)``,
    ///   ``BanditMathError/nonFiniteFeatures`` for a non-finite `v`,
    ///   ``BanditMathError/nonFiniteResult`` if the solution overflowed.
    public func solve(_ v: [Double]) throws(BanditMathError) -> [Double] {
        try validate(v)
        let d = dimension
        var w = v
        lower.withUnsafeBufferPointer { l in
            w.withUnsafeMutableBufferPointer { w in
                Self.forwardSubstitute(l, dimension: d, in: w)
                // Lᵀ w = y, bottom up; (Lᵀ)_{ik} = L_{ki}.
                for i in stride(from: d - 1, through: 0, by: -1) {
                    var sum = w[i]
                    for k in (i + 1)..<d {
                        sum -= l[k * d + i] * w[k]
                    }
                    w[i] = sum / l[i * d + i]
                }
            }
        }
        guard w.allSatisfy(\.isFinite) else { throw .nonFiniteResult }
        return w
    }

    /// xᵀA⁻¹x = ‖L⁻¹x‖² (one forward solve, stack scratch).
    ///
    /// The value is clamped to [0, xᵀx/λ]: A ⪰ λI gives xᵀA⁻¹x ≤ xᵀx/λ exactly, so the clamp
    /// only removes rounding noise and the uncertainty never exceeds the prior's.
    public func inverseQuadraticForm(_ x: [Double]) throws(BanditMathError) -> Double {
        try validate(x)
        let d = dimension
        let (quadratic, norm) = lower.withUnsafeBufferPointer { l in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: d) { z in
                var norm = 0.0
                for i in 0..<d {
                    z[i] = x[i]
                    norm += x[i] * x[i]
                }
                Self.forwardSubstitute(l, dimension: d, in: z)
                var sum = 0.0
                for i in 0..<d { sum += z[i] * z[i] }
                return (sum, norm)
            }
        }
        guard quadratic.isFinite, norm.isFinite else { throw .nonFiniteResult }
        return Swift.min(quadratic, norm / lambda)
    }

    /// Throws unless `v` has `dimension` finite values.
    func validate(_ v: [Double]) throws(BanditMathError) {
        guard v.count == dimension else { throw .dimensionMismatch(expected: dimension, actual: v.count) }
        guard v.allSatisfy(\.isFinite) else { throw .nonFiniteFeatures }
    }

    /// Solves L y = v in place.
    private static func forwardSubstitute(
        _ l: UnsafeBufferPointer<Double>, dimension d: Int, in v: UnsafeMutableBufferPointer<Double>
    ) {
        for i in 0..<d {
            var sum = v[i]
            let row = i * d
            for k in 0..<i {
                sum -= l[row + k] * v[k]
            }
            v[i] = sum / l[row + i]
        }
    }

    /// Cholesky–Banachiewicz on the lower triangle of `base` + jitter·I. Returns false when a
    /// pivot is not finite or below `floor`.
    private static func factor(
        _ base: ContiguousArray<Double>, dimension d: Int, jitter: Double, floor: Double,
        into lower: inout ContiguousArray<Double>
    ) -> Bool {
        base.withUnsafeBufferPointer { base in
            lower.withUnsafeMutableBufferPointer { l in
                // Row pointers: no index arithmetic (and its overflow checks) in the inner loop.
                let l = l.baseAddress!
                for i in 0..<d {
                    let rowI = l + i &* d
                    for j in 0...i {
                        let rowJ = l + j &* d
                        var sum = base[i &* d &+ j]
                        for k in 0..<j {
                            sum -= rowI[k] * rowJ[k]
                        }
                        if i == j {
                            sum += jitter
                            guard sum.isFinite, sum >= floor else { return false }
                            rowI[i] = sum.squareRoot()
                        } else {
                            rowI[j] = sum / rowJ[j]
                        }
                    }
                }
                return true
            }
        }
    }

    private static func pow100(_ exponent: Int) -> Double {
        var value = 1.0
        for _ in 0..<exponent { value *= 100 }
        return value
    }
}
