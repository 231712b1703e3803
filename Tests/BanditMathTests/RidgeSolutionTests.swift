import Testing

@testable import BanditMath

@Suite struct RidgeSolutionTests {
    // Updates x1 = (1, 0), r1 = 1 and x2 = (1, 1), r2 = 0.5, λ = 1:
    //   a = [[1, 0], [0, 0]] + [[1, 1], [1, 1]] = [[2, 1], [1, 1]],  b = (1, 0) + 0.5·(1, 1) = (1.5, 0.5)
    //   A = λI + a = [[3, 1], [1, 2]],  det A = 5,  A⁻¹ = [[2, −1], [−1, 3]] / 5
    //   θ = A⁻¹b = (2·1.5 − 0.5, −1.5 + 3·0.5) / 5 = (0.5, 0)
    //   L = [[√3, 0], [1/√3, √(2 − 1/3)]] = [[√3, 0], [1/√3, √(5/3)]]
    static let twoByTwo = statistics(dimension: 2, [([1, 0], 1), ([1, 1], 0.5)])

    // Updates x1 = (1, 0, 0), r1 = 1; x2 = (0, 1, 1), r2 = 0.5; x3 = (1, 0, 1), r3 = −1; λ = 1:
    //   a = [[2, 0, 1], [0, 1, 1], [1, 1, 2]],  b = (1, 0, 0) + (0, 0.5, 0.5) − (1, 0, 1) = (0, 0.5, −0.5)
    //   A = [[3, 0, 1], [0, 2, 1], [1, 1, 3]],  det A = 3·(6 − 1) + 1·(0 − 2) = 13
    //   cofactors: A⁻¹ = [[5, 1, −2], [1, 8, −3], [−2, −3, 6]] / 13
    //   θ = (0 + 0.5 + 1, 0 + 4 + 1.5, 0 − 1.5 − 3) / 13 = (1.5, 5.5, −4.5) / 13
    static let threeByThree = statistics(dimension: 3, [([1, 0, 0], 1), ([0, 1, 1], 0.5), ([1, 0, 1], -1)])

    @Test func thetaSolvesTheHandComputedTwoByTwoSystem() throws {
        let solution = try RidgeSolution(statistics: Self.twoByTwo, lambda: 1)
        #expect(relativeError(solution.theta, [0.5, 0]) < 1e-15)
        #expect(solution.factor.jitter == 0)
        // x = (0, 1): xᵀA⁻¹x = 3/5.  x = (1, 1): (2 − 1 − 1 + 3)/5 = 3/5.
        #expect(relativeError(try solution.factor.inverseQuadraticForm([0, 1]), 0.6) < 1e-15)
        #expect(relativeError(try solution.factor.inverseQuadraticForm([1, 1]), 0.6) < 1e-15)
        #expect(relativeError(try solution.mean(features: [1, 1]), 0.5) < 1e-15)
    }

    @Test func thetaSolvesTheHandComputedThreeByThreeSystem() throws {
        let solution = try RidgeSolution(statistics: Self.threeByThree, lambda: 1)
        #expect(relativeError(solution.theta, [1.5 / 13, 5.5 / 13, -4.5 / 13]) < 1e-15)
        // x = (1, 1, 1): θᵀx = 2.5/13, xᵀA⁻¹x = sum of A⁻¹'s entries = 11/13.
        #expect(relativeError(try solution.mean(features: [1, 1, 1]), 2.5 / 13) < 1e-15)
        #expect(relativeError(try solution.uncertainty(features: [1, 1, 1]), (11.0 / 13).squareRoot()) < 1e-15)
        // A⁻¹e₂ is the second column of the inverse: (1, 8, −3)/13.
        #expect(relativeError(try solution.factor.solve([0, 1, 0]), [1 / 13, 8 / 13, -3 / 13]) < 1e-15)
    }

    @Test func lambdaIsAddedOnlyWhenSolving() throws {
        // Same stored sums, λ = 3: A = [[5, 1], [1, 4]], det 19, θ = (4·1.5 − 0.5, −1.5 + 5·0.5)/19.
        let solution = try RidgeSolution(statistics: Self.twoByTwo, lambda: 3)
        #expect(relativeError(solution.theta, [5.5 / 19, 1 / 19]) < 1e-15)
    }

    @Test func thetaIsIndependentOfUpdateOrderWithinOneBillionth() throws {
        var generator = SplitMix64(seed: 42)
        let d = 6
        var updates: [([Double], Double)] = []
        for _ in 0..<2000 {
            let x = (0..<d).map { _ in Double.random(in: -3...3, using: &generator) }
            updates.append((x, Double.random(in: -1...1, using: &generator)))
        }
        let reference = try RidgeSolution(statistics: statistics(dimension: d, updates), lambda: 1).theta
        for _ in 0..<10 {
            updates.shuffle(using: &generator)
            let shuffled = try RidgeSolution(statistics: statistics(dimension: d, updates), lambda: 1).theta
            #expect(relativeError(shuffled, reference) < 1e-9)

            // The same updates as deltas of random batches, merged in random order.
            var deltas: [ArmStatistics] = []
            var start = 0
            while start < updates.count {
                let end = Swift.min(updates.count, start + Int.random(in: 1...300, using: &generator))
                deltas.append(statistics(dimension: d, Array(updates[start..<end])))
                start = end
            }
            deltas.shuffle(using: &generator)
            let merged = deltas.reduce(ArmStatistics.zero(dimension: d), +)
            #expect(merged.n == 2000)
            #expect(relativeError(try RidgeSolution(statistics: merged, lambda: 1).theta, reference) < 1e-9)
        }
    }

    @Test func storedAsymmetryIsReadAsTheSymmetricPart() throws {
        // (a + aᵀ)/2 of [[2, 2], [0, 1]] is the 2×2 example's [[2, 1], [1, 1]].
        let skewed = try ArmStatistics(dimension: 2, a: [2, 2, 0, 1], b: [1.5, 0.5], n: 2, rewardSum: 1.5)
        #expect(relativeError(try RidgeSolution(statistics: skewed, lambda: 1).theta, [0.5, 0]) < 1e-15)
    }

    @Test func solvesRejectVectorsOfTheWrongLengthOrWithNonFiniteValues() throws {
        let solution = try RidgeSolution(statistics: Self.twoByTwo, lambda: 1)
        #expect(throws: BanditMathError.dimensionMismatch(expected: 2, actual: 3)) {
            try solution.mean(features: [1, 2, 3])
        }
        #expect(throws: BanditMathError.nonFiniteFeatures) { try solution.uncertainty(features: [.nan, 1]) }
        #expect(throws: BanditMathError.nonFiniteFeatures) { try solution.factor.solve([1, -.infinity]) }
    }

    @Test func lambdaMustBePositive() async {
        await #expect(processExitsWith: .failure) {
            _ = try? CholeskyFactor(lambda: 0, gram: [1], dimension: 1)
        }
    }
}
