import BanditMath

/// One rewarded decision as logged in `decisions` (what off-policy evaluation reads).
public struct LoggedDecision: Sendable, Equatable {
    public var features: [Double]
    public var armID: String
    public var propensity: Double
    public var reward: Double

    public init(features: [Double], armID: String, propensity: Double, reward: Double) {
        self.features = features
        self.armID = armID
        self.propensity = propensity
        self.reward = reward
    }
}

/// `banditd report convergence`: the learned greedy policy against the planted optimum.
///
/// - A cell (context of the answer key) is *covered* when at least one rewarded decision was
///   logged with its features.
/// - The learned argmax of a cell ranks the world's models by θᵀx, θ from the pooled state of
///   all the world's agents (raw sums add: Σ over users of a and b is the state one user with
///   all their data would have), λ the policy's; a model without state counts at the prior 0.
/// - Regret (from the answer key) is μ* − μ(learned argmax), per cell and traffic-weighted.
/// - Off-policy: IPS and SNIPS of the learned greedy policy from the logged propensities, next
///   to the logging policy's observed mean reward; true values from the key alongside. The
///   estimate is in-sample (the learned policy was fitted on the same log), so read it as a
///   consistency check, not a held-out evaluation.
public struct ConvergenceReport: Sendable, Codable, Equatable {
    public struct CellResult: Sendable, Codable, Equatable {
        public var cell: String
        public var planted: String
        public var learned: String
        public var matched: Bool
        public var regret: Double
        public var decisions: Int
    }

    public struct Estimate: Sendable, Codable, Equatable {
        public var ips: Double
        public var snips: Double?
        public var effectiveSampleSize: Double
        public var n: Int

        enum CodingKeys: String, CodingKey {
            case ips, snips, n
            case effectiveSampleSize = "effective_sample_size"
        }
    }

    public var coveredCells: Int
    public var matchedCells: Int
    public var matchRate: Double
    public var minMatch: Double
    public var passed: Bool
    public var loggedDecisions: Int
    public var unmatchedDecisions: Int
    /// Mean over covered cells of μ* − μ(learned).
    public var regretPerCell: Double
    /// The same weighted by each cell's logged traffic.
    public var regretTrafficWeighted: Double
    /// True values (answer key), traffic-weighted: optimum, learned greedy, logging policy.
    public var optimalValue: Double
    public var learnedValue: Double
    public var loggingValue: Double
    /// Off-policy estimate of the learned greedy policy.
    public var learnedOffPolicy: Estimate?
    /// The logging policy's observed mean reward (on-policy).
    public var loggingObservedMean: Double
    public var cells: [CellResult]

    enum CodingKeys: String, CodingKey {
        case passed, cells
        case coveredCells = "covered_cells"
        case matchedCells = "matched_cells"
        case matchRate = "match_rate"
        case minMatch = "min_match"
        case loggedDecisions = "logged_decisions"
        case unmatchedDecisions = "unmatched_decisions"
        case regretPerCell = "regret_per_cell"
        case regretTrafficWeighted = "regret_traffic_weighted"
        case optimalValue = "optimal_value"
        case learnedValue = "learned_value"
        case loggingValue = "logging_value"
        case learnedOffPolicy = "learned_off_policy"
        case loggingObservedMean = "logging_observed_mean"
    }

    /// - Parameters:
    ///   - pooled: the world's agents' state summed per model (dimension of the policy).
    ///   - lambda: the policy's ridge λ.
    public init(
        key: AnswerKey, pooled: [String: ArmStatistics], lambda: Double, logged: [LoggedDecision], minMatch: Double
    ) {
        let dimension = key.cells.first?.features.count ?? SyntheticWorld.dimension
        var cellIndex: [[Double]: Int] = [:]
        for (index, cell) in key.cells.enumerated() { cellIndex[cell.features] = index }
        var byCell = [[LoggedDecision]](repeating: [], count: key.cells.count)
        var unmatched = 0
        for decision in logged {
            if let index = cellIndex[decision.features] { byCell[index].append(decision) } else { unmatched += 1 }
        }
        let arms = key.models.map { ($0, pooled[$0] ?? ArmStatistics.zero(dimension: dimension)) }
        var results: [CellResult] = []
        var outcomes: [LoggedOutcome] = []
        var regretSum = 0.0
        var weightedRegret = 0.0
        var optimal = 0.0
        var learned = 0.0
        var logging = 0.0
        var observed = 0.0
        var traffic = 0
        for (index, cell) in key.cells.enumerated() where !byCell[index].isEmpty {
            let ranking =
                (try? ArmRanking.rank(
                    arms: arms.map { (armID: $0.0, statistics: $0.1) }, features: cell.features, lambda: lambda,
                    rule: .mean)) ?? []
            let learnedMeans = Dictionary(ranking.map { ($0.armID, $0.mean) }, uniquingKeysWith: { first, _ in first })
            let greedy = GreedyRegret(learnedMeans: learnedMeans, expectedRewards: cell.expectedRewards)
            let decisions = byCell[index]
            results.append(
                CellResult(
                    cell: cell.cell, planted: cell.optimalModel, learned: greedy.greedyArmID,
                    matched: greedy.greedyArmID == cell.optimalModel, regret: greedy.regret, decisions: decisions.count)
            )
            regretSum += greedy.regret
            let count = Double(decisions.count)
            traffic += decisions.count
            weightedRegret += greedy.regret * count
            optimal += cell.expectedRewards[cell.optimalModel]! * count
            learned += cell.expectedRewards[greedy.greedyArmID]! * count
            // ε-greedy around the cell's logging greedy model.
            let k = Double(key.models.count)
            for model in key.models {
                let probability =
                    model == cell.loggingGreedyModel ? 1 - key.epsilon + key.epsilon / k : key.epsilon / k
                logging += probability * cell.expectedRewards[model]! * count
            }
            for decision in decisions {
                observed += decision.reward
                if let outcome = LoggedOutcome(
                    reward: decision.reward, loggingPropensity: decision.propensity,
                    targetPlaysLoggedArm: decision.armID == greedy.greedyArmID)
                {
                    outcomes.append(outcome)
                }
            }
        }
        let covered = results.count
        let matched = results.filter(\.matched).count
        self.coveredCells = covered
        self.matchedCells = matched
        self.matchRate = covered == 0 ? 0 : Double(matched) / Double(covered)
        self.minMatch = minMatch
        self.passed = covered > 0 && matchRate >= minMatch
        self.loggedDecisions = logged.count
        self.unmatchedDecisions = unmatched
        self.regretPerCell = covered == 0 ? 0 : regretSum / Double(covered)
        let total = Double(max(traffic, 1))
        self.regretTrafficWeighted = weightedRegret / total
        self.optimalValue = optimal / total
        self.learnedValue = learned / total
        self.loggingValue = logging / total
        self.learnedOffPolicy = OffPolicyEstimate(outcomes).map {
            Estimate(ips: $0.ips, snips: $0.snips, effectiveSampleSize: $0.effectiveSampleSize, n: $0.count)
        }
        self.loggingObservedMean = observed / total
        self.cells = results
    }
}
