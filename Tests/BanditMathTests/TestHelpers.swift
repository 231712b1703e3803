import BanditMath

/// SplitMix64: a tiny seeded generator so every random test is reproducible.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// |x − y| / max(|y|, tiny): relative error against an expected value.
func relativeError(_ x: Double, _ y: Double) -> Double {
    Swift.abs(x - y) / Swift.max(Swift.abs(y), Double.leastNormalMagnitude)
}

/// ‖x − y‖ / ‖y‖.
func relativeError(_ x: [Double], _ y: [Double]) -> Double {
    precondition(x.count == y.count)
    var difference = 0.0
    var norm = 0.0
    for i in x.indices {
        difference += (x[i] - y[i]) * (x[i] - y[i])
        norm += y[i] * y[i]
    }
    return (difference / Swift.max(norm, Double.leastNormalMagnitude)).squareRoot()
}

/// Statistics built from (x, r) pairs with `add`.
func statistics(dimension: Int, _ updates: [([Double], Double)]) -> ArmStatistics {
    var result = ArmStatistics.zero(dimension: dimension)
    for (x, r) in updates { result.add(features: x, reward: r) }
    return result
}

/// Stored statistics of `count` identical updates (x, r), written directly as a row would hold
/// them (rank one: a = count·x xᵀ).
func repeatedStatistics(features x: [Double], reward r: Double, count: Int64) throws -> ArmStatistics {
    let k = Double(count)
    let d = x.count
    var a = [Double](repeating: 0, count: d * d)
    for i in 0..<d {
        for j in 0..<d { a[i * d + j] = k * (x[i] * x[j]) }
    }
    return try ArmStatistics(dimension: d, a: a, b: x.map { k * r * $0 }, n: count, rewardSum: k * r)
}

/// Rank-one closed forms (Sherman–Morrison) for k identical updates (x, r) with q = xᵀx:
/// A⁻¹ = (I − k x xᵀ / (λ + k q)) / λ, so θᵀx = k r q / (λ + k q) and xᵀA⁻¹x = q / (λ + k q).
func rankOneClosedForm(features x: [Double], reward r: Double, count k: Double, lambda: Double)
    -> (mean: Double, uncertainty: Double)
{
    let q = x.reduce(0) { $0 + $1 * $1 }
    return (k * r * q / (lambda + k * q), (q / (lambda + k * q)).squareRoot())
}

/// Norm-wise backward error of a ridge solve: ‖b − (λI + a)θ‖ / (‖λI + a‖_F·‖θ‖ + ‖b‖).
func backwardError(_ stats: ArmStatistics, lambda: Double, theta: [Double]) -> Double {
    let d = stats.dimension
    var residual = 0.0
    var matrixNorm = 0.0
    for i in 0..<d {
        var row = 0.0
        for j in 0..<d {
            let entry = stats.a[i * d + j] + (i == j ? lambda : 0)
            matrixNorm += entry * entry
            row += entry * theta[j]
        }
        residual += (stats.b[i] - row) * (stats.b[i] - row)
    }
    let thetaNorm = theta.reduce(0) { $0 + $1 * $1 }.squareRoot()
    let bNorm = stats.b.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return residual.squareRoot() / (matrixNorm.squareRoot() * thetaNorm + bNorm)
}
