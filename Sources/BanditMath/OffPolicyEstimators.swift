/// Point values of the five estimators over one set of samples; nil where an estimator is
/// undefined (SNIPS when Σ w = 0: the target never agrees with the log) or overflowed.
public struct OffPolicyValues: Sendable, Equatable {
    public var ips: Double?
    public var snips: Double?
    public var dm: Double?
    public var dr: Double?
    public var switchDR: Double?
    /// The mean observed reward of the same samples: the logging policy's on-policy value.
    public var observedMean: Double?

    public init(
        ips: Double?, snips: Double?, dm: Double?, dr: Double?, switchDR: Double?, observedMean: Double? = nil
    ) {
        self.ips = ips
        self.snips = snips
        self.dm = dm
        self.dr = dr
        self.switchDR = switchDR
        self.observedMean = observedMean
    }

    public subscript(estimator: OffPolicyEstimator) -> Double? {
        switch estimator {
        case .ips: ips
        case .snips: snips
        case .dm: dm
        case .dr: dr
        case .switchDR: switchDR
        }
    }
}

/// The estimators of CONTRACT section 9 over n samples (see ``OffPolicySample`` for r, w, q̂):
///
/// - IPS = (1/n) Σ wᵢ rᵢ — unbiased when μ > 0 wherever π > 0, high variance;
/// - SNIPS = Σ wᵢ rᵢ / Σ wᵢ — self-normalized, slightly biased, far lower variance;
/// - DM = (1/n) Σ q̂_π(xᵢ) — the reward model alone: low variance, biased as the model is;
/// - DR = (1/n) Σ [q̂_π(xᵢ) + wᵢ (rᵢ − q̂(xᵢ, aᵢ))] — DM corrected by the importance-weighted
///   residual: unbiased when the propensities are right, whatever the model;
/// - Switch-DR(τ) = (1/n) Σ [q̂_π(xᵢ) + 1[wᵢ ≤ τ] wᵢ (rᵢ − q̂(xᵢ, aᵢ))] — DR where the weight is
///   at most τ, DM where it is larger (Wang, Agarwal, Dudík 2017; OBP's `SwitchDoublyRobust`):
///   τ = 0 gives DM, τ = ∞ gives DR.
///
/// Weighted sums are accumulated relative to the largest weight (at least 1), so propensities
/// down to the smallest positive double do not overflow the sums.
public enum OffPolicyEstimators {
    /// The effective sample size of the weights, (Σ w)² / Σ w² (n when every weight is equal, 0
    /// when every weight is 0).
    public static func effectiveSampleSize(_ samples: some Collection<OffPolicySample>) -> Double {
        let scale = Swift.max(1, samples.lazy.map(\.weight).max() ?? 1)
        var weights = 0.0
        var squares = 0.0
        for sample in samples {
            let w = sample.weight / scale
            weights += w
            squares += w * w
        }
        return squares > 0 ? weights * weights / squares : 0
    }

    /// Point values over all samples; nil for no samples.
    public static func values(_ samples: some Collection<OffPolicySample>, switchThreshold: Double)
        -> OffPolicyValues?
    {
        guard !samples.isEmpty else { return nil }
        var sums = Sums(scale: scale(of: samples), switchThreshold: switchThreshold)
        for sample in samples { sums.add(sample) }
        return sums.values
    }

    static func scale(of samples: some Collection<OffPolicySample>) -> Double {
        Swift.max(1, samples.lazy.map(\.weight).max() ?? 1)
    }

    /// Running sums of one (re)sample, weights divided by `scale`.
    struct Sums {
        let scale: Double
        let switchThreshold: Double
        private var count = 0.0
        private var weighted = 0.0  // Σ (w/s) r
        private var weights = 0.0  // Σ w/s
        private var model = 0.0  // Σ q̂_π
        private var correction = 0.0  // Σ (w/s)(r − q̂_a)
        private var switched = 0.0  // Σ_{w ≤ τ} (w/s)(r − q̂_a)
        private var rewards = 0.0  // Σ r

        init(scale: Double, switchThreshold: Double) {
            self.scale = scale
            self.switchThreshold = switchThreshold
        }

        mutating func add(_ sample: OffPolicySample) {
            let w = sample.weight / scale
            let residual = w * (sample.reward - sample.modelValueOfLoggedArm)
            count += 1
            weighted += w * sample.reward
            weights += w
            model += sample.modelValueOfTarget
            correction += residual
            if sample.weight <= switchThreshold { switched += residual }
            rewards += sample.reward
        }

        var values: OffPolicyValues {
            func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }
            let dm = model / count
            return OffPolicyValues(
                ips: finite(scale * (weighted / count)),
                snips: weights > 0 ? finite(weighted / weights) : nil,
                dm: finite(dm),
                dr: finite(dm + scale * (correction / count)),
                switchDR: finite(dm + scale * (switched / count)), observedMean: finite(rewards / count))
        }
    }
}
