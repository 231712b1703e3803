/// An arm and its estimated mean reward θᵀx for the current context.
public struct ArmEstimate: Sendable, Equatable {
    public var armID: String
    public var mean: Double

    public init(armID: String, mean: Double) {
        self.armID = armID
        self.mean = mean
    }
}

/// ε-greedy over K arms: with probability 1 − ε play the greedy arm, with probability ε play an
/// arm drawn uniformly from all K (the greedy arm included). Hence the exact selection
/// probabilities logged as propensities: 1 − ε + ε/K for the greedy arm, ε/K for each other.
///
/// The greedy arm is the one with the largest mean; ties go to the `arm_id` first in UTF-8
/// byte order (``ArmTieBreak``), so every daemon picks the same arm.
public struct EpsilonGreedy: Sendable, Equatable {
    public let epsilon: Double

    /// - Precondition: 0 ≤ ε ≤ 1.
    public init(epsilon: Double) {
        precondition(epsilon >= 0 && epsilon <= 1, "epsilon must lie in [0, 1], got \(epsilon)")
        self.epsilon = epsilon
    }

    /// The selection distribution over `arms` (in the given order).
    ///
    /// - Precondition: at least one arm, arm ids unique as UTF-8 bytes, no NaN mean.
    public func selection(arms: [ArmEstimate]) -> EpsilonGreedySelection {
        let armIDs = arms.map(\.armID)
        // Bytes, not String ==: canonically equivalent ids ("é" vs "e\u{301}") are distinct
        // arms in PostgreSQL, but equal Swift strings.
        precondition(Set(armIDs.map { Array($0.utf8) }).count == armIDs.count, "arm ids must be unique")
        let greedy = ArmTieBreak.indexOfMaximum(values: arms.map(\.mean), armIDs: armIDs)
        let k = Double(arms.count)
        let explore = epsilon / k
        // K = 1: 1 − ε + ε is 1 in exact arithmetic; say so exactly.
        let exploit = arms.count == 1 ? 1 : 1 - epsilon + explore
        var probabilities = [Double](repeating: explore, count: arms.count)
        probabilities[greedy] = exploit
        return EpsilonGreedySelection(
            epsilon: epsilon, armIDs: armIDs, probabilities: probabilities, greedyIndex: greedy)
    }
}

/// The exact distribution ε-greedy plays for one context.
public struct EpsilonGreedySelection: Sendable, Equatable {
    public let epsilon: Double
    /// The candidate arms, in the order given.
    public let armIDs: [String]
    /// Selection probability of each arm in ``armIDs`` (sums to 1 up to rounding).
    public let probabilities: [Double]
    public let greedyIndex: Int

    public var greedyArmID: String { armIDs[greedyIndex] }

    /// Selection probability of `armID` (compared as UTF-8 bytes), or nil when it is not a
    /// candidate.
    public func probability(of armID: String) -> Double? {
        armIDs.firstIndex { $0.utf8.elementsEqual(armID.utf8) }.map { probabilities[$0] }
    }

    /// Plays once: draws u ~ U[0, 1); u < ε explores (an arm uniformly among all K, possibly the
    /// greedy one), else the greedy arm. The propensity is the arm's total probability, which
    /// does not depend on the branch taken.
    public func sample<G: RandomNumberGenerator>(using generator: inout G) -> EpsilonGreedyChoice {
        let explored = Double.random(in: 0..<1, using: &generator) < epsilon
        let index = explored ? Int.random(in: 0..<armIDs.count, using: &generator) : greedyIndex
        return EpsilonGreedyChoice(armID: armIDs[index], propensity: probabilities[index], explored: explored)
    }
}

/// One ε-greedy play: the fields a `signals.decision` logs (`arm_id`, `propensity`, `explored`).
public struct EpsilonGreedyChoice: Sendable, Equatable {
    public var armID: String
    public var propensity: Double
    public var explored: Bool

    public init(armID: String, propensity: Double, explored: Bool) {
        self.armID = armID
        self.propensity = propensity
        self.explored = explored
    }
}
