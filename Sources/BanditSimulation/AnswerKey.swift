import BanditCore
import Foundation

/// What `banditd simulate --out FILE` writes: the planted optimum and every model's expected
/// reward per context ("cell" here is the world's context, see ``SyntheticContext``).
public struct AnswerKey: Sendable, Codable, Equatable {
    public struct Cell: Sendable, Codable, Equatable {
        /// `{task_type}|{constraint_band}|segment-{s}`.
        public var cell: String
        public var taskType: String
        public var constraintBand: String
        public var segment: Int
        public var features: [Double]
        public var optimalModel: String
        /// Expected reward of the optimum minus that of the runner-up.
        public var gap: Double
        public var loggingGreedyModel: String
        /// Model id → expected reward.
        public var expectedRewards: [String: Double]
        /// Outcomes the log drew in this cell.
        public var outcomes: Int

        enum CodingKeys: String, CodingKey {
            case cell, segment, features, gap, outcomes
            case taskType = "task_type"
            case constraintBand = "constraint_band"
            case optimalModel = "optimal_model"
            case loggingGreedyModel = "logging_greedy_model"
            case expectedRewards = "expected_rewards"
        }
    }

    public var seed: UInt64
    public var outcomes: Int
    public var policy: String
    public var source: String
    public var epsilon: Double
    public var cellDefinition: String
    public var agents: [String]
    public var models: [String]
    /// In a drifting world (`simulate --drift`) the cells' optima and rewards are those after the
    /// drift; this says when it happened and which cells changed their optimum.
    public var drift: Drift?
    /// When the learned state should be read (RFC 3339): the last event's time. Forgetting weighs
    /// updates by their age at the read time; `report convergence` reads there unless `--at` says.
    public var readAt: String?
    public var cells: [Cell]

    public struct Drift: Sendable, Codable, Equatable {
        /// The first event time after the drift (RFC 3339).
        public var at: String
        public var taskTypes: [String]
        /// Cells whose planted optimum changed.
        public var changedCells: [String]

        enum CodingKeys: String, CodingKey {
            case at
            case taskTypes = "task_types"
            case changedCells = "changed_cells"
        }
    }

    enum CodingKeys: String, CodingKey {
        case seed, outcomes, policy, source, epsilon, agents, models, cells, drift
        case cellDefinition = "cell_definition"
        case readAt = "read_at"
    }

    public init(
        seed: UInt64, outcomes: Int, policy: String, source: String, epsilon: Double, cellDefinition: String,
        agents: [String], models: [String], cells: [Cell]
    ) {
        self.seed = seed
        self.outcomes = outcomes
        self.policy = policy
        self.source = source
        self.epsilon = epsilon
        self.cellDefinition = cellDefinition
        self.agents = agents
        self.models = models
        self.cells = cells
        self.drift = nil
        self.readAt = nil
    }

    public init(log: SyntheticLog) {
        let world = log.world
        var counts: [SyntheticContext: Int] = [:]
        for outcome in log.outcomes { counts[outcome.context, default: 0] += 1 }
        self.seed = world.seed
        self.outcomes = log.outcomes.count
        self.policy = SyntheticWorld.policy
        self.source = "synthetic"
        self.epsilon = SyntheticLog.epsilon
        self.cellDefinition =
            "context (task_type, constraint_band, agent segment = agent index mod 3); "
            + "features: one-hot task_type (7), one-hot constraint_band (3), segment 1 and 2 indicators (2)"
        self.agents = world.agents
        self.models = world.models
        let after = world.drifts
        let formatter = ISO8601DateFormatter()
        self.readAt = formatter.string(from: log.lastEventAt)
        if let driftAt = log.driftAt {
            self.drift = Drift(
                at: formatter.string(from: driftAt),
                taskTypes: TaskType.allCases.filter(SyntheticWorld.driftedTaskTypes.contains).map(\.rawValue),
                changedCells: world.contexts.filter {
                    world.optimalModel(in: $0) != world.optimalModel(in: $0, afterDrift: true)
                }.map(\.name))
        } else {
            self.drift = nil
        }
        self.cells = world.contexts.map { context in
            let rewards = world.expectedRewards(in: context, afterDrift: after)
            let optimal = world.optimalModel(in: context, afterDrift: after)
            let runnerUp = rewards.indices.filter { $0 != optimal }.map { rewards[$0] }.max() ?? rewards[optimal]
            return Cell(
                cell: context.name, taskType: context.taskType.rawValue, constraintBand: context.band.rawValue,
                segment: context.segment, features: context.features, optimalModel: world.models[optimal],
                gap: rewards[optimal] - runnerUp,
                loggingGreedyModel: world.models[world.loggingGreedyModel(in: context, afterDrift: after)],
                expectedRewards: Dictionary(uniqueKeysWithValues: zip(world.models, rewards)),
                outcomes: counts[context] ?? 0)
        }
    }
}
