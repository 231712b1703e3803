import Testing

@testable import BanditMath

@Suite struct ArmRankingTests {
    @Test func rankingIsBestFirstWithTiesByArmID() throws {
        // With λ = 1 and x = (1, 0): an arm with k updates of ((1, 0), r) has
        // mean = k·r/(1 + k) and uncertainty = 1/√(1 + k) (rank-one closed form, q = 1).
        let arms: [(armID: String, statistics: ArmStatistics)] = [
            ("b", statistics(dimension: 2, [([1, 0], 1)])),  // mean 0.5, uncertainty 1/√2
            ("a", statistics(dimension: 2, [([1, 0], 1)])),  // same as "b": tie
            ("c", statistics(dimension: 2, [([1, 0], 1), ([1, 0], 1), ([1, 0], 1)])),  // mean 0.75, unc. 0.5
            ("new", .zero(dimension: 2)),  // prior: mean 0, uncertainty 1
        ]
        let ucb = try ArmRanking.rank(arms: arms, features: [1, 0], lambda: 1, rule: .linUCB(alpha: 1))
        // Scores: c 1.25, a = b 0.5 + 0.7071, new 1.
        #expect(ucb.map(\.armID) == ["c", "a", "b", "new"])
        #expect(ucb[0] == RankedArm(armID: "c", score: 1.25, mean: 0.75, n: 3))
        #expect(relativeError(ucb[1].score, 0.5 + 0.5.squareRoot()) < 1e-15)
        #expect(ucb[3] == RankedArm(armID: "new", score: 1, mean: 0, n: 0))

        // α = 2 lets the unexplored arm lead: new 2, a = b 0.5 + √2 ≈ 1.914, c 1.75.
        let explore = try ArmRanking.rank(arms: arms, features: [1, 0], lambda: 1, rule: .linUCB(alpha: 2))
        #expect(explore.map(\.armID) == ["new", "a", "b", "c"])
    }

    @Test func meanRankingPutsTheEpsilonGreedyArmFirst() throws {
        let arms: [(armID: String, statistics: ArmStatistics)] = [
            ("z", statistics(dimension: 1, [([1], 1)])),
            ("y", statistics(dimension: 1, [([1], 1)])),
            ("x", statistics(dimension: 1, [([1], -1)])),
        ]
        let ranked = try ArmRanking.rank(arms: arms, features: [2], lambda: 1, rule: .mean)
        // mean = 2·r/2: y = z = 1 (tie → "y"), x = −1; score equals mean.
        #expect(ranked.map(\.armID) == ["y", "z", "x"])
        #expect(ranked.allSatisfy { $0.score == $0.mean })
        let greedy = EpsilonGreedy(epsilon: 0.1).selection(
            arms: ranked.reversed().map { ArmEstimate(armID: $0.armID, mean: $0.mean) })
        #expect(greedy.greedyArmID == ranked[0].armID)
    }

    @Test func unusableStoredStateIsRankedAtThePriorWithTheReason() throws {
        let arms: [(armID: String, statistics: ArmStatistics)] = [
            ("nan", try ArmStatistics(dimension: 2, a: [.nan, 0, 0, 1], b: [1, 1], n: 9, rewardSum: 1)),
            ("indefinite", try ArmStatistics(dimension: 2, a: [-10, 0, 0, -10], b: [1, 1], n: 4, rewardSum: 1)),
            ("stale", .zero(dimension: 3)),
            ("good", statistics(dimension: 2, [([1, 1], 1)])),
        ]
        for rule in [ScoringRule.linUCB(alpha: 1), .mean] {
            let ranked = try ArmRanking.rank(arms: arms, features: [1, 1], lambda: 2, rule: rule)
            #expect(ranked.count == 4)
            #expect(ranked.allSatisfy { $0.score.isFinite && $0.mean.isFinite })
            let byID = Dictionary(uniqueKeysWithValues: ranked.map { ($0.armID, $0) })
            #expect(byID["nan"]?.fallback == .nonFiniteStatistics)
            #expect(byID["nan"]?.n == 9)
            #expect(byID["indefinite"]?.fallback == .notPositiveDefinite)
            #expect(byID["stale"]?.fallback == .dimensionMismatch(expected: 3, actual: 2))
            #expect(byID["good"]?.fallback == nil)
            let prior = try LinUCB.prior(features: [1, 1], lambda: 2, alpha: rule == .mean ? 0 : 1)
            #expect(byID["nan"]?.score == prior.score)
        }
    }

    @Test func nonFiniteFeaturesCannotBeRanked() {
        #expect(throws: BanditMathError.nonFiniteFeatures) {
            try ArmRanking.rank(arms: [("a", .zero(dimension: 1))], features: [.nan], lambda: 1, rule: .mean)
        }
    }
}
