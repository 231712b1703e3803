import Testing

@testable import BanditMath

@Suite struct EpsilonGreedyTests {
    static let arms = [
        ArmEstimate(armID: "a", mean: 0.1),
        ArmEstimate(armID: "b", mean: 0.4),
        ArmEstimate(armID: "c", mean: -0.2),
        ArmEstimate(armID: "d", mean: 0.3),
    ]

    @Test func greedyArmGetsOneMinusEpsilonPlusEpsilonOverKOthersEpsilonOverK() {
        // K = 4, ε = 0.2: greedy "b" 1 − 0.2 + 0.05 = 0.85, others 0.2/4 = 0.05.
        let selection = EpsilonGreedy(epsilon: 0.2).selection(arms: Self.arms)
        #expect(selection.greedyArmID == "b")
        #expect(selection.armIDs == ["a", "b", "c", "d"])
        #expect(selection.greedyIndex == 1)
        #expect(relativeError(selection.probabilities, [0.05, 0.85, 0.05, 0.05]) < 1e-15)
        #expect(Swift.abs(selection.probabilities.reduce(0, +) - 1) < 1e-15)
        #expect(selection.probability(of: "b") == selection.probabilities[1])
        #expect(selection.probability(of: "z") == nil)
    }

    @Test func epsilonZeroAlwaysPlaysTheGreedyArm() {
        let selection = EpsilonGreedy(epsilon: 0).selection(arms: Self.arms)
        #expect(selection.probabilities == [0, 1, 0, 0])
        var generator = SplitMix64(seed: 1)
        for _ in 0..<1000 {
            #expect(
                selection.sample(using: &generator) == EpsilonGreedyChoice(armID: "b", propensity: 1, explored: false))
        }
    }

    @Test func epsilonOneIsUniform() {
        let selection = EpsilonGreedy(epsilon: 1).selection(arms: Self.arms)
        #expect(selection.probabilities == [0.25, 0.25, 0.25, 0.25])
        var generator = SplitMix64(seed: 2)
        for _ in 0..<1000 {
            let choice = selection.sample(using: &generator)
            #expect(choice.explored && choice.propensity == 0.25)
        }
    }

    @Test(arguments: [0.0, 0.1, 0.3, 1.0])
    func singleArmHasProbabilityExactlyOne(epsilon: Double) {
        let selection = EpsilonGreedy(epsilon: epsilon).selection(arms: [ArmEstimate(armID: "only", mean: -5)])
        #expect(selection.probabilities == [1])
        var generator = SplitMix64(seed: 3)
        #expect(selection.sample(using: &generator).propensity == 1)
    }

    @Test func tiesGoToTheArmIDFirstInUTF8ByteOrderWhateverTheInputOrder() {
        // Byte order: "arm-10" < "arm-9" ('1' < '9') and "Zed" < "alpha" (uppercase first).
        var arms = [
            ArmEstimate(armID: "arm-9", mean: 0.5),
            ArmEstimate(armID: "arm-10", mean: 0.5),
            ArmEstimate(armID: "arm-2", mean: 0.1),
        ]
        var generator = SplitMix64(seed: 4)
        for _ in 0..<10 {
            arms.shuffle(using: &generator)
            #expect(EpsilonGreedy(epsilon: 0.1).selection(arms: arms).greedyArmID == "arm-10")
        }
        let cased = [ArmEstimate(armID: "alpha", mean: 1), ArmEstimate(armID: "Zed", mean: 1)]
        #expect(EpsilonGreedy(epsilon: 0.1).selection(arms: cased).greedyArmID == "Zed")
        // −0 and +0 are the same value: a tie.
        let zeros = [ArmEstimate(armID: "y", mean: 0), ArmEstimate(armID: "x", mean: -0.0)]
        #expect(EpsilonGreedy(epsilon: 0.1).selection(arms: zeros).greedyArmID == "x")
        // Canonically equivalent but different bytes: "é" precomposed (C3 A9) and decomposed
        // (65 CC 81) are distinct arms; byte order puts the decomposed one first.
        let accents = [ArmEstimate(armID: "\u{E9}", mean: 1), ArmEstimate(armID: "e\u{301}", mean: 1)]
        let accented = EpsilonGreedy(epsilon: 0.5).selection(arms: accents)
        #expect(accented.greedyArmID.utf8.first == 0x65)
        #expect(accented.probability(of: "e\u{301}") == 0.75)
        #expect(accented.probability(of: "\u{E9}") == 0.25)
    }

    @Test func samplingFrequenciesMatchTheSelectionProbabilities() {
        let selection = EpsilonGreedy(epsilon: 0.3).selection(arms: Self.arms)
        var generator = SplitMix64(seed: 5)
        var counts: [String: Int] = [:]
        var explored = 0
        let draws = 100_000
        for _ in 0..<draws {
            let choice = selection.sample(using: &generator)
            #expect(choice.propensity == selection.probability(of: choice.armID))
            counts[choice.armID, default: 0] += 1
            if choice.explored { explored += 1 }
        }
        // Standard error ≤ sqrt(0.25/1e5) ≈ 0.0016: 0.01 is more than six of them.
        for (armID, probability) in zip(selection.armIDs, selection.probabilities) {
            #expect(Swift.abs(Double(counts[armID, default: 0]) / Double(draws) - probability) < 0.01)
        }
        #expect(Swift.abs(Double(explored) / Double(draws) - 0.3) < 0.01)
    }

    @Test func epsilonOutsideZeroOneIsAProgrammingError() async {
        await #expect(processExitsWith: .failure) { _ = EpsilonGreedy(epsilon: 1.5) }
        await #expect(processExitsWith: .failure) { _ = EpsilonGreedy(epsilon: -0.1) }
    }
}
