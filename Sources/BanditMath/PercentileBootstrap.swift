/// A two-sided percentile interval.
public struct PercentileInterval: Sendable, Equatable {
    public var lo: Double
    public var hi: Double

    public init(lo: Double, hi: Double) {
        self.lo = lo
        self.hi = hi
    }

    public func contains(_ value: Double) -> Bool { lo <= value && value <= hi }
}

/// The intervals of one bootstrap run.
public struct BootstrapIntervals: Sendable, Equatable {
    public var estimates: [OffPolicyEstimator: PercentileInterval]
    /// DR − observed mean reward on each resample: the paired lift of the target over the logging
    /// policy, both measured on the same decisions.
    public var drLift: PercentileInterval?

    public init(estimates: [OffPolicyEstimator: PercentileInterval], drLift: PercentileInterval?) {
        self.estimates = estimates
        self.drLift = drLift
    }
}

/// Seeded percentile-bootstrap intervals for the estimators of ``OffPolicyEstimators``, the way
/// Open Bandit Pipeline's `estimate_confidence_interval_by_bootstrap` makes them: draw n of the
/// n samples with replacement, compute the estimate on the resample, repeat B times, and take
/// the α/2 and 1 − α/2 percentiles of the B values (linear interpolation between order
/// statistics, numpy's default). Unlike OBP, SNIPS is re-normalized within each resample rather
/// than bootstrapping per-round terms normalized once on the full sample.
///
/// All five estimators are computed on the *same* resamples, drawn with ``SeededGenerator``
/// from `seed`: the intervals are a function of the samples (in their order), B and the seed.
/// The reward model and the target policy are held fixed (fitted once on the training split),
/// as in OBP: the interval covers the sampling noise of the evaluated decisions.
public enum PercentileBootstrap {
    /// Intervals at `level` (e.g. 0.95). An estimator gets no interval when it is undefined on
    /// more than half of the resamples (SNIPS when the target rarely agrees with the log);
    /// otherwise its percentiles are taken over the resamples where it is defined.
    ///
    /// - Precondition: resamples ≥ 1, 0 < level < 1.
    public static func intervals(
        _ samples: [OffPolicySample], resamples: Int, seed: UInt64, level: Double = 0.95, switchThreshold: Double
    ) -> BootstrapIntervals {
        precondition(resamples >= 1, "need at least one resample")
        precondition(level > 0 && level < 1, "level must lie in (0, 1)")
        guard !samples.isEmpty else { return BootstrapIntervals(estimates: [:], drLift: nil) }
        let n = samples.count
        let scale = OffPolicyEstimators.scale(of: samples)
        var generator = SeededGenerator(seed: seed)
        var draws: [OffPolicyEstimator: [Double]] = [:]
        for estimator in OffPolicyEstimator.allCases { draws[estimator] = [] }
        var lifts: [Double] = []
        samples.withUnsafeBufferPointer { samples in
            for _ in 0..<resamples {
                var sums = OffPolicyEstimators.Sums(scale: scale, switchThreshold: switchThreshold)
                for _ in 0..<n { sums.add(samples[generator.index(below: n)]) }
                let values = sums.values
                for estimator in OffPolicyEstimator.allCases {
                    if let value = values[estimator] { draws[estimator]!.append(value) }
                }
                if let dr = values.dr, let observed = values.observedMean { lifts.append(dr - observed) }
            }
        }
        let alpha = 1 - level
        func interval(_ values: [Double]) -> PercentileInterval? {
            guard 2 * values.count >= resamples else { return nil }
            let sorted = values.sorted()
            return PercentileInterval(
                lo: percentile(sorted: sorted, alpha / 2), hi: percentile(sorted: sorted, 1 - alpha / 2))
        }
        return BootstrapIntervals(estimates: draws.compactMapValues(interval), drLift: interval(lifts))
    }

    /// The p-quantile (0 ≤ p ≤ 1) of sorted values with linear interpolation between the order
    /// statistics at h = (m − 1)·p (numpy's `percentile(…, 100·p)`, method "linear").
    ///
    /// - Precondition: `sorted` is non-empty and ascending.
    public static func percentile(sorted: [Double], _ p: Double) -> Double {
        precondition(!sorted.isEmpty, "no values")
        precondition(p >= 0 && p <= 1, "p must lie in [0, 1]")
        let h = Double(sorted.count - 1) * p
        let below = Int(h.rounded(.down))
        guard below + 1 < sorted.count else { return sorted[sorted.count - 1] }
        let fraction = h - Double(below)
        return sorted[below] + fraction * (sorted[below + 1] - sorted[below])
    }
}
