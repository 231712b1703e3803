/// Regret of the greedy policy in one context of a world whose per-arm expected rewards are
/// known (e.g. `banditd simulate`'s planted answer key): μ* − μ(greedy arm).
public struct GreedyRegret: Sendable, Equatable {
    /// The arm with the largest learned mean (ties: ``ArmTieBreak``).
    public let greedyArmID: String
    /// The arm with the largest expected reward (ties: ``ArmTieBreak``).
    public let optimalArmID: String
    /// μ* − μ(greedy) ≥ 0.
    public let regret: Double

    /// The greedy policy chooses among the world's arms (the keys of `expectedRewards`); an arm
    /// missing from `learnedMeans` has no state and counts at the prior mean 0. Learned arms
    /// the world does not have are ignored. Arm ids are dictionary keys here, so canonically
    /// equivalent ids would be merged: fine for generated worlds (`banditd simulate` uses ASCII
    /// ids), not for arbitrary stored ids.
    ///
    /// - Precondition: at least one arm; no NaN value.
    public init(learnedMeans: [String: Double], expectedRewards: [String: Double]) {
        let armIDs = Array(expectedRewards.keys)
        let expected = armIDs.map { expectedRewards[$0]! }
        let learned = armIDs.map { learnedMeans[$0] ?? 0 }
        let greedy = ArmTieBreak.indexOfMaximum(values: learned, armIDs: armIDs)
        let optimal = ArmTieBreak.indexOfMaximum(values: expected, armIDs: armIDs)
        self.greedyArmID = armIDs[greedy]
        self.optimalArmID = armIDs[optimal]
        self.regret = expected[optimal] - expected[greedy]
    }

    /// True when the greedy arm is worth as much as the optimum (a tie with another optimal arm
    /// counts).
    public var isOptimal: Bool { regret == 0 }

    /// Mean regret over contexts (0 for none).
    public static func average(_ regrets: some Collection<GreedyRegret>) -> Double {
        regrets.isEmpty ? 0 : regrets.reduce(0) { $0 + $1.regret } / Double(regrets.count)
    }
}
