/// Raw sufficient statistics of one (user, policy, source, arm): exactly the columns of
/// `bandit_state`.
///
/// - `a` = Σ x xᵀ, d×d row-major (entry (i, j) at `i * dimension + j`),
/// - `b` = Σ r x,
/// - `n` = number of updates, `rewardSum` = Σ r.
///
/// The ridge term λI is *not* part of the state: it is added only when solving
/// (``CholeskyFactor``), so λ can change without rewriting rows. Because every field is a plain
/// sum, updates and merged deltas commute: concurrent daemons may add deltas in any order and
/// end with the same state, up to floating-point rounding of the additions.
public struct ArmStatistics: Sendable, Equatable {
    public let dimension: Int
    /// Σ x xᵀ, d×d row-major; symmetric by construction.
    public private(set) var a: [Double]
    /// Σ r x.
    public private(set) var b: [Double]
    public private(set) var n: Int64
    public private(set) var rewardSum: Double

    /// Statistics of an arm that has seen nothing: the prior.
    public static func zero(dimension: Int) -> ArmStatistics {
        precondition(dimension > 0, "dimension must be positive")
        return ArmStatistics(
            uncheckedDimension: dimension,
            a: [Double](repeating: 0, count: dimension * dimension),
            b: [Double](repeating: 0, count: dimension),
            n: 0,
            rewardSum: 0
        )
    }

    /// Statistics as read back from storage. Lengths are checked (a corrupted row is data, not a
    /// programming error); values are not, so that a row holding NaN or infinity can still be
    /// loaded, reported, and scored at the prior (``LinUCB`` throws for it).
    public init(dimension: Int, a: [Double], b: [Double], n: Int64, rewardSum: Double) throws(BanditMathError) {
        guard dimension > 0, a.count == dimension * dimension, b.count == dimension else {
            throw .malformedStatistics(dimension: dimension, aCount: a.count, bCount: b.count)
        }
        self.init(uncheckedDimension: dimension, a: a, b: b, n: n, rewardSum: rewardSum)
    }

    private init(uncheckedDimension dimension: Int, a: [Double], b: [Double], n: Int64, rewardSum: Double) {
        self.dimension = dimension
        self.a = a
        self.b = b
        self.n = n
        self.rewardSum = rewardSum
    }

    /// True when every stored sum is finite (a row that can be solved).
    public var isFinite: Bool {
        rewardSum.isFinite && a.allSatisfy(\.isFinite) && b.allSatisfy(\.isFinite)
    }

    /// Adds one observation: a += x xᵀ, b += r x, n += 1, rewardSum += r.
    ///
    /// The caller has validated the event (CONTRACT §2: finite features with |x| ≤ 1e6, finite
    /// reward); a feature vector of the wrong length is a programming error.
    public mutating func add(features x: [Double], reward r: Double) {
        add(features: x, reward: r, weight: 1)
    }

    /// Adds one observation with weight `w` (forgetting, CONTRACT section 8): a += w x xᵀ,
    /// b += w r x; n and rewardSum stay raw counts (n += 1, rewardSum += r).
    public mutating func add(features x: [Double], reward r: Double, weight w: Double) {
        let d = dimension
        precondition(x.count == d, "feature vector length \(x.count) differs from dimension \(d)")
        x.withUnsafeBufferPointer { x in
            a.withUnsafeMutableBufferPointer { a in
                // x_i * x_j == x_j * x_i exactly, so a stays exactly symmetric.
                for i in 0..<d {
                    let wxi = w * x[i]
                    let row = a.baseAddress! + i &* d
                    for j in 0..<d {
                        row[j] += wxi * x[j]
                    }
                }
            }
            let wr = w * r
            b.withUnsafeMutableBufferPointer { b in
                for i in 0..<d {
                    b[i] += wr * x[i]
                }
            }
        }
        n += 1
        rewardSum += r
    }

    /// Corrects an earlier update's reward by `delta` without counting a new observation:
    /// b += delta · x, rewardSum += delta; a and n stay. A late reward for a decision that was
    /// closed with a default reward d corrects it with delta = r − d, which leaves exactly the
    /// sums an on-time reward r would have made (CONTRACT section 8).
    public mutating func correct(features x: [Double], by delta: Double) {
        correct(features: x, by: delta, weight: 1)
    }

    /// A correction of an update that was made with weight `w`: b += w · delta · x,
    /// rewardSum += delta.
    public mutating func correct(features x: [Double], by delta: Double, weight w: Double) {
        let d = dimension
        precondition(x.count == d, "feature vector length \(x.count) differs from dimension \(d)")
        x.withUnsafeBufferPointer { x in
            let wd = w * delta
            b.withUnsafeMutableBufferPointer { b in
                for i in 0..<d {
                    b[i] += wd * x[i]
                }
            }
        }
        rewardSum += delta
    }

    /// Multiplies the weighted sums a and b by `factor` (moving the reference time of forgetting);
    /// n and rewardSum are raw counts and stay.
    public mutating func scaleWeightedSums(by factor: Double) {
        guard factor != 1 else { return }
        a.withUnsafeMutableBufferPointer { a in
            for k in a.indices { a[k] *= factor }
        }
        b.withUnsafeMutableBufferPointer { b in
            for k in b.indices { b[k] *= factor }
        }
    }

    /// Adds another arm's sums (e.g. a batch delta) into this one.
    public mutating func merge(_ other: ArmStatistics) {
        precondition(other.dimension == dimension, "cannot merge dimension \(other.dimension) into \(dimension)")
        other.a.withUnsafeBufferPointer { source in
            a.withUnsafeMutableBufferPointer { target in
                for k in target.indices {
                    target[k] += source[k]
                }
            }
        }
        other.b.withUnsafeBufferPointer { source in
            b.withUnsafeMutableBufferPointer { target in
                for k in target.indices {
                    target[k] += source[k]
                }
            }
        }
        n += other.n
        rewardSum += other.rewardSum
    }

    /// The sum of two arms' statistics (same dimension).
    public static func + (lhs: ArmStatistics, rhs: ArmStatistics) -> ArmStatistics {
        var sum = lhs
        sum.merge(rhs)
        return sum
    }

    /// Adds `rhs` into `lhs`.
    public static func += (lhs: inout ArmStatistics, rhs: ArmStatistics) {
        lhs.merge(rhs)
    }
}
