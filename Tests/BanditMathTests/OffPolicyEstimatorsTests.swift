import Testing

@testable import BanditMath

@Suite struct OffPolicyEstimatorsTests {
    /// (r, μ, π, q̂_π, q̂_a) → w = π/μ.
    static func sample(_ r: Double, _ mu: Double, _ pi: Double, _ qPi: Double, _ qA: Double) -> OffPolicySample {
        OffPolicySample(
            reward: r, loggingPropensity: mu, targetProbability: pi, modelValueOfTarget: qPi, modelValueOfLoggedArm: qA)!
    }

    // (1, .5, 1, .8, .6) → w 2;  (0, .25, 0, .5, .3) → w 0;  (.5, .5, .5, .4, .5) → w 1;  (1, .1, 1, .9, .7) → w 10
    static let handSamples = [
        sample(1, 0.5, 1, 0.8, 0.6), sample(0, 0.25, 0, 0.5, 0.3), sample(0.5, 0.5, 0.5, 0.4, 0.5),
        sample(1, 0.1, 1, 0.9, 0.7),
    ]

    @Test func everyEstimatorMatchesItsHandComputedValue() throws {
        // Σ w r = 2 + 0 + 0.5 + 10 = 12.5, Σ w = 13, Σ w² = 105, n = 4
        // IPS = 12.5/4;  SNIPS = 12.5/13;  DM = (0.8 + 0.5 + 0.4 + 0.9)/4 = 0.65
        // Σ w (r − q̂_a) = 2·0.4 + 0 + 1·0 + 10·0.3 = 3.8  →  DR = 0.65 + 3.8/4 = 1.6
        // Switch-DR(τ = 5) drops w = 10: 0.65 + 0.8/4 = 0.85
        let values = try #require(OffPolicyEstimators.values(Self.handSamples, switchThreshold: 5))
        #expect(relativeError(try #require(values.ips), 3.125) < 1e-14)
        #expect(relativeError(try #require(values.snips), 12.5 / 13) < 1e-14)
        #expect(relativeError(try #require(values.dm), 0.65) < 1e-14)
        #expect(relativeError(try #require(values.dr), 1.6) < 1e-14)
        #expect(relativeError(try #require(values.switchDR), 0.85) < 1e-14)
        #expect(relativeError(OffPolicyEstimators.effectiveSampleSize(Self.handSamples), 169.0 / 105) < 1e-14)
    }

    @Test func switchDRIsDMAtThresholdZeroAndDRAtInfinity() throws {
        // Open Bandit Pipeline's test_switch_dr_using_random_evaluation_policy: λ = 0 → DM, λ = ∞ → DR, exactly.
        var generator = SplitMix64(seed: 7)
        let samples = (0..<500).map { _ in
            Self.sample(
                Double.random(in: 0...1, using: &generator), Double.random(in: 0.05...1, using: &generator),
                Double.random(in: 0...1, using: &generator), Double.random(in: 0...1, using: &generator),
                Double.random(in: 0...1, using: &generator))
        }
        let zero = try #require(OffPolicyEstimators.values(samples, switchThreshold: 0))
        let infinite = try #require(OffPolicyEstimators.values(samples, switchThreshold: .infinity))
        #expect(zero.switchDR == zero.dm)
        #expect(infinite.switchDR == infinite.dr)
        #expect(zero.dr == infinite.dr)
    }

    @Test func aPerfectRewardModelMakesDMAndDRTheTrueValue() throws {
        // Rewards without noise and q̂ = μ(x, a): DM is the target's true value and DR's correction vanishes.
        // Contexts x ∈ {0, 1}, arms {0, 1}, μ(x, a) = 0.2 + 0.3x + 0.4a; logging uniform; target plays a = 1.
        func mu(_ x: Int, _ a: Int) -> Double { 0.2 + 0.3 * Double(x) + 0.4 * Double(a) }
        let rows = [(0, 0), (0, 1), (1, 0), (1, 1), (1, 1)]
        let samples = rows.map { x, a in
            Self.sample(mu(x, a), 0.5, a == 1 ? 1 : 0, mu(x, 1), mu(x, a))
        }
        let truth = rows.map { x, _ in mu(x, 1) }.reduce(0, +) / Double(rows.count)
        let values = try #require(OffPolicyEstimators.values(samples, switchThreshold: 20))
        #expect(relativeError(try #require(values.dm), truth) < 1e-15)
        #expect(relativeError(try #require(values.dr), truth) < 1e-15)
    }

    @Test func onPolicyEveryWeightIsOneAndIPSAndSNIPSAreTheMeanReward() throws {
        let samples = [(1.0, 0.2), (0.0, 0.7), (0.5, 1.0)].map { Self.sample($0.0, $0.1, $0.1, 0.3, 0.3) }
        let values = try #require(OffPolicyEstimators.values(samples, switchThreshold: 20))
        #expect(relativeError(try #require(values.ips), 0.5) < 1e-15)
        #expect(relativeError(try #require(values.snips), 0.5) < 1e-15)
        // q̂ constant: DR = q̂ + mean(r − q̂) = mean(r).
        #expect(relativeError(try #require(values.dr), 0.5) < 1e-15)
        #expect(OffPolicyEstimators.effectiveSampleSize(samples) == 3)
    }

    @Test func allZeroInputsGiveZeroEverywhere() throws {
        // Open Bandit Pipeline's test_dr_variants_using_valid_input_data: zero rewards and a zero model → 0.
        let samples = (0..<5).map { _ in Self.sample(0, 0.7, 0.3, 0, 0) }
        let values = try #require(OffPolicyEstimators.values(samples, switchThreshold: 0.5))
        for estimator in OffPolicyEstimator.allCases { #expect(values[estimator] == 0) }
    }

    @Test func snipsStaysWithinTheRewardRangeWhateverThePropensities() throws {
        // Open Bandit Pipeline's test_boundedness_of_snipw: tiny propensities blow IPS up, not SNIPS.
        var generator = SplitMix64(seed: 3)
        let samples = (0..<200).map { _ -> OffPolicySample in
            let mu = Double.random(in: 0.001...1, using: &generator)
            return Self.sample(Double.random(in: 0...1, using: &generator), mu * mu * mu, 1, 0.5, 0.5)
        }
        let values = try #require(OffPolicyEstimators.values(samples, switchThreshold: 20))
        let snips = try #require(values.snips)
        #expect(snips >= 0 && snips <= 1)
        #expect(try #require(values.ips) > 1)
    }

    @Test func doublyRobustIsUnbiasedWithAWrongModelAndDMIsNot() throws {
        // Logging uniform over 3 arms, target always arm 2, Bernoulli rewards with p(a) = 0.2, 0.5, 0.9; the
        // model says 0.5 for every arm. True value 0.9; DM is stuck at 0.5, DR is within 4 standard errors.
        var generator = SplitMix64(seed: 11)
        let p = [0.2, 0.5, 0.9]
        let n = 200_000
        let samples = (0..<n).map { _ -> OffPolicySample in
            let arm = Int.random(in: 0..<3, using: &generator)
            let reward: Double = Double.random(in: 0..<1, using: &generator) < p[arm] ? 1 : 0
            return Self.sample(reward, 1.0 / 3, arm == 2 ? 1 : 0, 0.5, 0.5)
        }
        let values = try #require(OffPolicyEstimators.values(samples, switchThreshold: 20))
        // Var of one DR term: w(r − 0.5) with w = 3 w.p. 1/3 (r ~ Bernoulli(0.9)) else 0.
        let standardError = (3.0 * 0.25 - 0.16 + 0.0).squareRoot() / Double(n).squareRoot()
        #expect(Swift.abs(try #require(values.dr) - 0.9) < 4 * standardError)
        #expect(try #require(values.dm) == 0.5)
    }

    @Test func tinyPropensitiesDoNotOverflowTheSums() throws {
        let samples = [Self.sample(0.5, 1e-300, 1, 0, 0), Self.sample(1, 1, 1, 0, 0)]
        let values = try #require(OffPolicyEstimators.values(samples, switchThreshold: .infinity))
        #expect(relativeError(try #require(values.snips), 0.5) < 1e-15)
        #expect(relativeError(try #require(values.ips), 0.25e300) < 1e-15)
        #expect(OffPolicyEstimators.effectiveSampleSize(samples) == 1)
        #expect(OffPolicyEstimators.values([OffPolicySample](), switchThreshold: 1) == nil)
    }

    @Test func aTargetThatNeverAgreesWithTheLogHasNoSNIPS() throws {
        let samples = [Self.sample(1, 0.5, 0, 0.2, 0.1)]
        let values = try #require(OffPolicyEstimators.values(samples, switchThreshold: 20))
        #expect(values.snips == nil)
        #expect(values.ips == 0)
        #expect(values.dm == 0.2)
        #expect(OffPolicyEstimators.effectiveSampleSize(samples) == 0)
    }

    @Test func outOfRangeInputsAreRejected() {
        #expect(
            OffPolicySample(
                reward: 1, loggingPropensity: 0, targetProbability: 1, modelValueOfTarget: 0, modelValueOfLoggedArm: 0)
                == nil)
        #expect(
            OffPolicySample(
                reward: 1, loggingPropensity: 1.5, targetProbability: 1, modelValueOfTarget: 0, modelValueOfLoggedArm: 0
            ) == nil)
        #expect(
            OffPolicySample(
                reward: 1, loggingPropensity: 0.5, targetProbability: 1.1, modelValueOfTarget: 0,
                modelValueOfLoggedArm: 0) == nil)
        #expect(
            OffPolicySample(
                reward: .nan, loggingPropensity: 0.5, targetProbability: 1, modelValueOfTarget: 0,
                modelValueOfLoggedArm: 0) == nil)
        #expect(
            OffPolicySample(
                reward: 1, loggingPropensity: 0.5, targetProbability: 1, modelValueOfTarget: .infinity,
                modelValueOfLoggedArm: 0) == nil)
        #expect(
            OffPolicySample(
                reward: 1, loggingPropensity: 0.5, targetProbability: 1, modelValueOfTarget: 0,
                modelValueOfLoggedArm: .nan) == nil)
        #expect(OffPolicySample(reward: 1, weight: -1, modelValueOfTarget: 0, modelValueOfLoggedArm: 0) == nil)
        #expect(
            OffPolicySample(
                reward: 1, loggingPropensity: .leastNonzeroMagnitude, targetProbability: 1, modelValueOfTarget: 0,
                modelValueOfLoggedArm: 0) == nil)
    }
}
