import Testing

@testable import BanditMath

@Suite struct OffPolicyEstimateTests {
    @Test func ipsSnipsAndEffectiveSampleSizeMatchHandComputedValues() throws {
        // (r, μ, π) → w = π/μ:  (1, 0.5, 1) → 2;  (0, 0.25, 1) → 4;  (1, 0.8, 0) → 0;  (0.5, 0.5, 0.5) → 1
        // Σ w·r = 2 + 0 + 0 + 0.5 = 2.5,  Σ w = 7,  Σ w² = 4 + 16 + 0 + 1 = 21,  n = 4
        // IPS = 2.5/4 = 0.625,  SNIPS = 2.5/7,  ESS = 7²/21 = 7/3
        let outcomes = [
            LoggedOutcome(reward: 1, loggingPropensity: 0.5, targetProbability: 1)!,
            LoggedOutcome(reward: 0, loggingPropensity: 0.25, targetPlaysLoggedArm: true)!,
            LoggedOutcome(reward: 1, loggingPropensity: 0.8, targetPlaysLoggedArm: false)!,
            LoggedOutcome(reward: 0.5, loggingPropensity: 0.5, targetProbability: 0.5)!,
        ]
        let estimate = try #require(OffPolicyEstimate(outcomes))
        #expect(estimate.count == 4)
        #expect(relativeError(estimate.ips, 0.625) < 1e-15)
        #expect(relativeError(try #require(estimate.snips), 2.5 / 7) < 1e-15)
        #expect(relativeError(estimate.effectiveSampleSize, 7.0 / 3) < 1e-15)
    }

    @Test func onPolicyEstimatesAreTheMeanRewardWithFullSampleSize() throws {
        // π = μ: every weight is 1, IPS = SNIPS = mean reward = (1 − 1 + 0.5)/3, ESS = n = 3.
        let outcomes = [(1.0, 0.2), (-1, 0.7), (0.5, 1)].map {
            LoggedOutcome(reward: $0.0, loggingPropensity: $0.1, targetProbability: $0.1)!
        }
        let estimate = try #require(OffPolicyEstimate(outcomes))
        #expect(relativeError(estimate.ips, 0.5 / 3) < 1e-15)
        #expect(relativeError(try #require(estimate.snips), 0.5 / 3) < 1e-15)
        #expect(relativeError(estimate.effectiveSampleSize, 3) < 1e-15)
    }

    @Test func targetThatNeverAgreesWithTheLogHasNoSelfNormalizedEstimate() throws {
        let outcomes = [LoggedOutcome(reward: 1, loggingPropensity: 0.5, targetPlaysLoggedArm: false)!]
        #expect(OffPolicyEstimate(outcomes) == OffPolicyEstimate(count: 1, ips: 0, snips: nil, effectiveSampleSize: 0))
        #expect(OffPolicyEstimate([LoggedOutcome]()) == nil)
    }

    @Test func tinyPropensitiesDoNotOverflowTheEffectiveSampleSize() throws {
        // w = 1e300 and w = 1: Σw² would overflow; scaled, ESS = (1 + 1e-300)²/(1 + 1e-600) = 1.
        let outcomes = [
            LoggedOutcome(reward: 0.5, loggingPropensity: 1e-300, targetProbability: 1)!,
            LoggedOutcome(reward: 1, loggingPropensity: 1, targetProbability: 1)!,
        ]
        let estimate = try #require(OffPolicyEstimate(outcomes))
        #expect(estimate.effectiveSampleSize == 1)
        #expect(relativeError(try #require(estimate.snips), 0.5) < 1e-15)
        #expect(relativeError(estimate.ips, 0.25e300) < 1e-15)
    }

    @Test func outOfRangeLoggedValuesAreRejected() {
        #expect(LoggedOutcome(reward: 1, loggingPropensity: 0, targetProbability: 1) == nil)
        #expect(LoggedOutcome(reward: 1, loggingPropensity: 1.5, targetProbability: 1) == nil)
        #expect(LoggedOutcome(reward: 1, loggingPropensity: -0.5, targetProbability: 1) == nil)
        #expect(LoggedOutcome(reward: 1, loggingPropensity: 0.5, targetProbability: 1.01) == nil)
        #expect(LoggedOutcome(reward: 1, loggingPropensity: 0.5, targetProbability: -0.01) == nil)
        #expect(LoggedOutcome(reward: .nan, loggingPropensity: 0.5, targetProbability: 1) == nil)
        #expect(LoggedOutcome(reward: 1, loggingPropensity: .nan, targetProbability: 1) == nil)
        #expect(LoggedOutcome(reward: 1, loggingPropensity: 0.5, targetProbability: .nan) == nil)
        // 1/5e-324 is infinite: the weight itself must be finite.
        #expect(LoggedOutcome(reward: 1, loggingPropensity: .leastNonzeroMagnitude, targetProbability: 1) == nil)
    }
}
