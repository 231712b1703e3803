import Testing

@testable import BanditMath

@Suite struct PercentileBootstrapTests {
    static func onPolicy(_ reward: Double) -> OffPolicySample {
        OffPolicySample(reward: reward, weight: 1, modelValueOfTarget: 0, modelValueOfLoggedArm: 0)!
    }

    @Test func percentilesInterpolateLinearlyLikeNumpy() {
        // numpy.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) = [1.075, 2.5, 3.925]
        #expect(relativeError(PercentileBootstrap.percentile(sorted: [1, 2, 3, 4], 0.025), 1.075) < 1e-15)
        #expect(PercentileBootstrap.percentile(sorted: [1, 2, 3, 4], 0.5) == 2.5)
        #expect(relativeError(PercentileBootstrap.percentile(sorted: [1, 2, 3, 4], 0.975), 3.925) < 1e-15)
        #expect(PercentileBootstrap.percentile(sorted: [1, 2, 3, 4], 0) == 1)
        #expect(PercentileBootstrap.percentile(sorted: [1, 2, 3, 4], 1) == 4)
        #expect(PercentileBootstrap.percentile(sorted: [7], 0.3) == 7)
    }

    @Test func twoSamplesGiveTheHandComputedInterval() throws {
        // Rewards 0 and 1 on-policy: a resample's mean is 0, ½ or 1 with probability ¼, ½, ¼, so with
        // 1,000 resamples the 2.5 % and 97.5 % percentiles are the extremes 0 and 1.
        let intervals = PercentileBootstrap.intervals(
            [Self.onPolicy(0), Self.onPolicy(1)], resamples: 1_000, seed: 1, switchThreshold: 20
        ).estimates
        for estimator in [OffPolicyEstimator.ips, .snips, .dr, .switchDR] {
            #expect(intervals[estimator] == PercentileInterval(lo: 0, hi: 1), "\(estimator)")
        }
        #expect(intervals[.dm] == PercentileInterval(lo: 0, hi: 0))
    }

    @Test func constantSamplesHaveAZeroWidthInterval() {
        let intervals = PercentileBootstrap.intervals(
            Array(repeating: Self.onPolicy(0.25), count: 30), resamples: 200, seed: 9, switchThreshold: 20
        ).estimates
        #expect(intervals[.ips] == PercentileInterval(lo: 0.25, hi: 0.25))
        #expect(intervals.count == OffPolicyEstimator.allCases.count)
    }

    @Test func theSameSeedGivesTheSameIntervalsAndAnotherSeedOthers() {
        var generator = SplitMix64(seed: 5)
        let samples = (0..<300).map { _ in Self.onPolicy(Double.random(in: 0...1, using: &generator)) }
        let first = PercentileBootstrap.intervals(samples, resamples: 500, seed: 42, switchThreshold: 20)
        let again = PercentileBootstrap.intervals(samples, resamples: 500, seed: 42, switchThreshold: 20)
        let other = PercentileBootstrap.intervals(samples, resamples: 500, seed: 43, switchThreshold: 20)
        #expect(first == again)
        #expect(first.estimates[.ips] != other.estimates[.ips])
    }

    @Test func ninetyFivePercentIntervalsCoverTheTrueMeanAboutNinetyFivePercentOfTheTime() {
        // 400 data sets of 100 uniform rewards (true mean ½), 400 resamples each: a calibrated interval
        // covers ½ in about 380 of them (binomial sd ≈ 4.4; the percentile interval is slightly narrow
        // for small n).
        var generator = SplitMix64(seed: 2026)
        var covering = 0
        for trial in 0..<400 {
            let samples = (0..<100).map { _ in Self.onPolicy(Double.random(in: 0...1, using: &generator)) }
            let interval = PercentileBootstrap.intervals(
                samples, resamples: 400, seed: UInt64(trial), switchThreshold: 20
            ).estimates[.ips]!
            if interval.contains(0.5) { covering += 1 }
        }
        #expect(covering >= 360 && covering <= 395, "covered \(covering) of 400")
    }

    @Test func anEstimatorUndefinedOnMostResamplesHasNoInterval() {
        // The target never agrees with the log: SNIPS is undefined on every resample.
        let samples = (0..<10).map { _ in
            OffPolicySample(reward: 1, weight: 0, modelValueOfTarget: 0.5, modelValueOfLoggedArm: 0.5)!
        }
        let intervals = PercentileBootstrap.intervals(samples, resamples: 100, seed: 1, switchThreshold: 20).estimates
        #expect(intervals[.snips] == nil)
        #expect(intervals[.dm] == PercentileInterval(lo: 0.5, hi: 0.5))
        #expect(
            PercentileBootstrap.intervals([], resamples: 10, seed: 1, switchThreshold: 20)
                == BootstrapIntervals(estimates: [:], drLift: nil))
    }

    @Test func theLiftIsDRMinusTheObservedMeanOnTheSameResamples() {
        // w = 1 and q̂_π − q̂_a = 0.1 on every sample: DR − mean r = 0.1 on every resample, exactly the
        // difference, however noisy the rewards are.
        var generator = SplitMix64(seed: 12)
        let samples = (0..<200).map { _ in
            OffPolicySample(
                reward: Double.random(in: 0...1, using: &generator), weight: 1, modelValueOfTarget: 0.35,
                modelValueOfLoggedArm: 0.25)!
        }
        let intervals = PercentileBootstrap.intervals(samples, resamples: 300, seed: 3, switchThreshold: 20)
        let lift = intervals.drLift!
        #expect(Swift.abs(lift.lo - 0.1) < 1e-12 && Swift.abs(lift.hi - 0.1) < 1e-12)
        // DR itself is as noisy as the rewards.
        #expect(intervals.estimates[.dr]!.hi - intervals.estimates[.dr]!.lo > 0.05)
    }
}
