import Testing

@testable import BanditMath

@Suite struct LinUCBTests {
    @Test func scoreIsMeanPlusAlphaTimesUncertaintyOnTheHandComputedExamples() throws {
        // 2×2 example (RidgeSolutionTests): θ = (0.5, 0), A⁻¹ = [[2, −1], [−1, 3]]/5.
        // x = (0, 1), α = 2: mean 0, xᵀA⁻¹x = 3/5, score = 2·√0.6.
        let two = try LinUCB.score(statistics: RidgeSolutionTests.twoByTwo, features: [0, 1], lambda: 1, alpha: 2)
        #expect(Swift.abs(two.mean) < 1e-15)
        #expect(relativeError(two.uncertainty, 0.6.squareRoot()) < 1e-15)
        #expect(relativeError(two.score, 2 * 0.6.squareRoot()) < 1e-15)

        // 3×3 example: x = (1, 1, 1), α = 0.5: score = 2.5/13 + 0.5·√(11/13).
        let three = try LinUCB.score(
            statistics: RidgeSolutionTests.threeByThree, features: [1, 1, 1], lambda: 1, alpha: 0.5)
        #expect(relativeError(three.mean, 2.5 / 13) < 1e-15)
        #expect(relativeError(three.score, 2.5 / 13 + 0.5 * (11.0 / 13).squareRoot()) < 1e-15)
    }

    @Test func armWithoutStateScoresAtThePrior() throws {
        // θ = 0, uncertainty = sqrt(xᵀx/λ) = sqrt((1 + 4 + 4)/4) = 1.5; α = 2 → score 3.
        let x: [Double] = [1, -2, 2]
        let zero = try LinUCB.score(statistics: .zero(dimension: 3), features: x, lambda: 4, alpha: 2)
        #expect(zero == ArmScore(mean: 0, uncertainty: 1.5, score: 3))
        #expect(try LinUCB.prior(features: x, lambda: 4, alpha: 2) == zero)
    }

    @Test func uncertaintyNeverExceedsThePrior() throws {
        var generator = SplitMix64(seed: 7)
        var stats = ArmStatistics.zero(dimension: 4)
        for _ in 0..<50 {
            let x = (0..<4).map { _ in Double.random(in: -1...1, using: &generator) }
            let prior = try LinUCB.prior(features: x, lambda: 0.5, alpha: 1)
            let score = try LinUCB.score(statistics: stats, features: x, lambda: 0.5, alpha: 1)
            #expect(score.uncertainty <= prior.uncertainty)
            stats.add(features: x, reward: Double.random(in: -1...1, using: &generator))
        }
    }

    @Test func collinearFeaturesGiveTheRankOneClosedForm() throws {
        // Every update is a multiple of u = (1, 2, −1, 0, 0): a has rank one.
        var stats = ArmStatistics.zero(dimension: 5)
        let u: [Double] = [1, 2, -1, 0, 0]
        for t in [0.5, -1, 2, 3, -0.25] {
            stats.add(features: u.map { t * $0 }, reward: 0.3 * t)
        }
        // Σt² = 0.25 + 1 + 4 + 9 + 0.0625 = 14.3125; Σ 0.3t·t = 0.3·14.3125; a = Σt²·uuᵀ, b = 0.3·Σt²·u.
        // θ = 0.3·S·u/(λ + S·q), q = uᵀu = 6, so θᵀu = 0.3·S·q/(λ + S·q) and uᵀA⁻¹u = q/(λ + S·q).
        let s = 14.3125
        let score = try LinUCB.score(statistics: stats, features: u, lambda: 1, alpha: 1)
        #expect(relativeError(score.mean, 0.3 * s * 6 / (1 + s * 6)) < 1e-14)
        #expect(relativeError(score.uncertainty, (6 / (1 + s * 6)).squareRoot()) < 1e-14)
        // Orthogonal to u the data says nothing: the prior.
        let orthogonal = try LinUCB.score(statistics: stats, features: [0, 0, 0, 3, 4], lambda: 1, alpha: 1)
        #expect(orthogonal == ArmScore(mean: 0, uncertainty: 5, score: 5))
    }

    @Test func illConditionedFeaturesStayAccurateToConditionTimesEpsilon() throws {
        // Directions u = (1, 1, 0)/√2 at scale 1e6 and v = (1, −1, 0)/√2 at scale 1, k = 10
        // updates each: a = k·1e12·uuᵀ + k·vvᵀ has condition number 1e12.
        // θ = k·r₁·1e6/(λ + k·1e12)·u + k·r₂/(λ + k)·v, so for x = u·√2 + v·√2 = (2, 0, 0):
        // θᵀx = √2·(k·r₁·1e6/(λ + k·1e12) + k·r₂/(λ + k)).
        let h = 0.5.squareRoot()
        let k = 10.0
        let (r1, r2) = (0.5, -0.25)
        var stats = ArmStatistics.zero(dimension: 3)
        for _ in 0..<10 {
            stats.add(features: [1e6 * h, 1e6 * h, 0], reward: r1)
            stats.add(features: [h, -h, 0], reward: r2)
        }
        let expectedMean = 2.0.squareRoot() * (k * r1 * 1e6 / (1 + k * 1e12) + k * r2 / (1 + k))
        // xᵀA⁻¹x = 2/(λ + k·1e12) + 2/(λ + k).
        let expectedUncertainty = (2 / (1 + k * 1e12) + 2 / (1 + k)).squareRoot()
        let score = try LinUCB.score(statistics: stats, features: [2, 0, 0], lambda: 1, alpha: 1)
        // Storing a in doubles already perturbs the small direction by about ε·‖a‖ = ε·1e13,
        // relative to its eigenvalue 11: cond·ε ≈ 2e-4 is the accuracy any solver can reach.
        #expect(relativeError(score.mean, expectedMean) < 1e-3)
        #expect(relativeError(score.uncertainty, expectedUncertainty) < 1e-3)
        // The solver itself is backward stable on the stored sums: ‖b − Aθ‖ ≈ ε·‖A‖·‖θ‖.
        let solution = try RidgeSolution(statistics: stats, lambda: 1)
        #expect(solution.factor.jitter == 0)
        #expect(backwardError(stats, lambda: 1, theta: solution.theta) < 1e-14)
    }

    @Test(arguments: [1e-6, 1.0, 1e6])
    func tinyAndHugeFeatureScalesMatchTheClosedForm(scale: Double) throws {
        let x = [1.0, 2, 3, 4, 5].map { scale * $0 }
        for count in [1, 1000, 1_000_000] as [Int64] {
            let stats = try repeatedStatistics(features: x, reward: 0.75, count: count)
            let expected = rankOneClosedForm(features: x, reward: 0.75, count: Double(count), lambda: 1)
            let score = try LinUCB.score(statistics: stats, features: x, lambda: 1, alpha: 1)
            #expect(relativeError(score.mean, expected.mean) < 1e-9, "scale \(scale), n \(count)")
            #expect(relativeError(score.uncertainty, expected.uncertainty) < 1e-6, "scale \(scale), n \(count)")
            #expect(score.score.isFinite)
        }
    }

    @Test func collinearFeaturesAtHugeScaleFactorWithBoundedJitter() throws {
        // 1e6 updates of x = 1e6·(1, 1, 1, 1, 1): a = 1e18·J exactly, and λ = 1 is below the last
        // bit of 1e18 + 1, so λI + a rounds to the singular 1e18·J: the second pivot is 0.
        let x = [Double](repeating: 1e6, count: 5)
        let stats = try repeatedStatistics(features: x, reward: 1, count: 1_000_000)
        let factor = try CholeskyFactor(statistics: stats, lambda: 1)
        #expect(factor.jitter > 0)
        #expect(factor.jitter <= 5 * Double.ulpOfOne * 1e18 * 1e6)
        // The data direction is still learned: θᵀx ≈ r = 1, uncertainty ≈ 1/√n.
        let score = try LinUCB.score(statistics: stats, features: x, lambda: 1, alpha: 1)
        #expect(relativeError(score.mean, 1) < 1e-6)
        #expect(relativeError(score.uncertainty, 1e-3) < 1e-3)
        // Orthogonal to the data, uncertainty is at most the prior's.
        let orthogonal = try LinUCB.score(statistics: stats, features: [1, -1, 0, 0, 0], lambda: 1, alpha: 1)
        #expect(orthogonal.uncertainty.isFinite && orthogonal.uncertainty <= 2.0.squareRoot())
        // ... and the undetermined direction's mean is small next to the learned one (≈ 1).
        #expect(Swift.abs(orthogonal.mean) < 0.05)
    }

    @Test func oneMillionUpdatesToOneArmMatchTheClosedFormSums() throws {
        // d = 5; five integer-valued feature vectors, 200 000 updates each: every partial sum is
        // an integer below 2^53, so the accumulated sums are exact.
        let vectors: [[Double]] = [
            [1, 0, 0, 0, 1], [0, 2, 0, 1, 0], [1, 1, 3, 0, 0], [0, 0, 1, 4, 0], [2, 0, 0, 0, 5],
        ]
        let rewards: [Double] = [1, -1, 0.5, 0.25, -0.5]
        var stats = ArmStatistics.zero(dimension: 5)
        for _ in 0..<200_000 {
            for i in 0..<5 { stats.add(features: vectors[i], reward: rewards[i]) }
        }
        var exact = ArmStatistics.zero(dimension: 5)
        for i in 0..<5 {
            exact += try repeatedStatistics(features: vectors[i], reward: rewards[i], count: 200_000)
        }
        #expect(stats.n == 1_000_000)
        #expect(stats.a == exact.a)
        #expect(stats.b == exact.b)
        let score = try LinUCB.score(statistics: stats, features: [1, 1, 1, 1, 1], lambda: 1, alpha: 1)
        #expect(score.score.isFinite && score.uncertainty > 0)
    }

    @Test func nonFiniteStoredSumsThrowInsteadOfScoring() throws {
        let x: [Double] = [1, 1]
        for bad in [Double.nan, .infinity, -.infinity] {
            let badA = try ArmStatistics(dimension: 2, a: [1, bad, bad, 1], b: [1, 1], n: 1, rewardSum: 1)
            #expect(throws: BanditMathError.nonFiniteStatistics) {
                try LinUCB.score(statistics: badA, features: x, lambda: 1, alpha: 1)
            }
            let badB = try ArmStatistics(dimension: 2, a: [1, 0, 0, 1], b: [bad, 0], n: 1, rewardSum: 1)
            #expect(throws: BanditMathError.nonFiniteStatistics) {
                try LinUCB.score(statistics: badB, features: x, lambda: 1, alpha: 1)
            }
        }
    }

    @Test func storedMatrixThatIsNoSumOfOuterProductsThrowsNotPositiveDefinite() throws {
        // A diagonal of −10 is far beyond what rounding or bounded jitter can explain.
        let corrupted = try ArmStatistics(dimension: 2, a: [-10, 0, 0, 1], b: [1, 1], n: 3, rewardSum: 1)
        #expect(throws: BanditMathError.notPositiveDefinite) {
            try LinUCB.score(statistics: corrupted, features: [1, 1], lambda: 1, alpha: 1)
        }
    }

    @Test func extremeButFiniteSumsScoreFinitelyOrThrow() throws {
        // a = 1e300·J: singular, far beyond any valid row (|x| ≤ 1e6); the factor needs jitter.
        let huge = try ArmStatistics(
            dimension: 2, a: [1e300, 1e300, 1e300, 1e300], b: [1e300, 1e300], n: 1, rewardSum: 1)
        let score = try LinUCB.score(statistics: huge, features: [1e6, -1e6], lambda: 1, alpha: 1)
        #expect(score.mean.isFinite && score.uncertainty.isFinite && score.score.isFinite)
        // Features whose squared norm overflows cannot even be scored at the prior.
        #expect(throws: BanditMathError.nonFiniteResult) {
            try LinUCB.prior(features: [1e200, 1e200], lambda: 1, alpha: 1)
        }
    }

    @Test func invalidFeaturesThrow() throws {
        let stats = RidgeSolutionTests.twoByTwo
        #expect(throws: BanditMathError.dimensionMismatch(expected: 2, actual: 1)) {
            try LinUCB.score(statistics: stats, features: [1], lambda: 1, alpha: 1)
        }
        #expect(throws: BanditMathError.dimensionMismatch(expected: 3, actual: 2)) {
            try LinUCB.score(statistics: .zero(dimension: 3), features: [1, 2], lambda: 1, alpha: 1)
        }
        #expect(throws: BanditMathError.nonFiniteFeatures) {
            try LinUCB.score(statistics: stats, features: [.nan, 1], lambda: 1, alpha: 1)
        }
        #expect(throws: BanditMathError.nonFiniteFeatures) {
            try LinUCB.prior(features: [.infinity], lambda: 1, alpha: 1)
        }
    }

    @Test func noNaNEverReachesAScoreUnderRandomCorruption() throws {
        // Random stored rows mixing sane values, extremes, NaN and ±infinity: every call either
        // returns finite numbers or throws.
        var generator = SplitMix64(seed: 2026)
        let specials: [Double] = [.nan, .infinity, -.infinity, 1e308, -1e308, 1e-308, 0, -0.0, 1e18, -1e18]
        func value() -> Double {
            Int.random(in: 0..<4, using: &generator) == 0
                ? specials.randomElement(using: &generator)!
                : Double.random(in: -1e3...1e3, using: &generator)
        }
        var scored = 0
        for _ in 0..<2000 {
            let d = Int.random(in: 1...4, using: &generator)
            let a = (0..<(d * d)).map { _ in value() }
            let b = (0..<d).map { _ in value() }
            let x = (0..<d).map { _ in Double.random(in: -1e6...1e6, using: &generator) }
            let stats = try ArmStatistics(dimension: d, a: a, b: b, n: 1, rewardSum: 0)
            if let score = try? LinUCB.score(statistics: stats, features: x, lambda: 1, alpha: 1) {
                #expect(score.mean.isFinite && score.uncertainty.isFinite && score.score.isFinite)
                scored += 1
            }
        }
        #expect(scored > 0)
    }
}
