import Testing

@testable import BanditMath

@Suite struct GreedyRegretTests {
    @Test func regretIsTheOptimumMinusTheGreedyArmsExpectedReward() {
        // Learned: a 0.9, b 0.1, c has no state (prior 0) → greedy a. Planted: b 0.7 is optimal.
        // Regret = 0.7 − 0.5 = 0.2.
        let regret = GreedyRegret(
            learnedMeans: ["a": 0.9, "b": 0.1], expectedRewards: ["a": 0.5, "b": 0.7, "c": 0.2])
        #expect(regret.greedyArmID == "a")
        #expect(regret.optimalArmID == "b")
        #expect(relativeError(regret.regret, 0.2) < 1e-15)
        #expect(!regret.isOptimal)
    }

    @Test func armsWithoutStateCountAtThePriorAndUnknownArmsAreIgnored() {
        // c has no state (0) but beats b's negative mean; "gone" is not in the world.
        let regret = GreedyRegret(
            learnedMeans: ["a": -0.3, "b": -0.1, "gone": 5], expectedRewards: ["a": 0.5, "b": 0.7, "c": 0.9])
        #expect(regret.greedyArmID == "c")
        #expect(regret.isOptimal)
        #expect(regret.regret == 0)
    }

    @Test func tiesFollowTheArmIDRuleOnBothSides() {
        // Optimum tie b = c (0.7) → "b"; greedy tie a = c (0.4) → "a". Regret 0.7 − 0.2 = 0.5.
        let regret = GreedyRegret(
            learnedMeans: ["a": 0.4, "b": 0.1, "c": 0.4], expectedRewards: ["a": 0.2, "b": 0.7, "c": 0.7])
        #expect(regret.optimalArmID == "b")
        #expect(regret.greedyArmID == "a")
        #expect(relativeError(regret.regret, 0.5) < 1e-15)
        // Greedy on another arm worth as much as the optimum is optimal.
        let tied = GreedyRegret(learnedMeans: ["c": 1], expectedRewards: ["b": 0.7, "c": 0.7])
        #expect(tied.optimalArmID == "b" && tied.greedyArmID == "c" && tied.isOptimal)
    }

    @Test func averageRegretOverContexts() {
        let regrets = [
            GreedyRegret(learnedMeans: ["a": 1], expectedRewards: ["a": 0, "b": 1]),  // 1
            GreedyRegret(learnedMeans: ["b": 1], expectedRewards: ["a": 0, "b": 1]),  // 0
            GreedyRegret(learnedMeans: ["a": 1], expectedRewards: ["a": 0.5, "b": 1]),  // 0.5
        ]
        #expect(GreedyRegret.average(regrets) == 0.5)
        #expect(GreedyRegret.average([GreedyRegret]()) == 0)
    }
}
