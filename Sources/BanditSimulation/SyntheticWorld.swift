import BanditCore
import BanditMath

/// One context of the synthetic world: what a routed request looks like before a model is
/// chosen. The world's "cell" for the planted optimum is a context — (task type, constraint
/// band, agent segment), 7 × 3 × 3 = 63 of them — named `{task_type}|{band}|segment-{s}`.
/// It is deliberately not CONTRACT §4's routing cell `{task_type}|{model}|{band}`, which
/// includes the chosen model: the optimum is a property of a context, and the routing cells are
/// what a context's outcomes cover (`banditd report cells`).
public struct SyntheticContext: Sendable, Hashable, Codable {
    public var taskType: TaskType
    public var band: ConstraintBand
    public var segment: Int

    public init(taskType: TaskType, band: ConstraintBand, segment: Int) {
        self.taskType = taskType
        self.band = band
        self.segment = segment
    }

    public var name: String { "\(taskType.rawValue)|\(band.rawValue)|segment-\(segment)" }

    /// The 12 features (`egreedy_v2`, d = 12): one-hot task type (7), one-hot band (3), then
    /// segment 1 and segment 2 indicators (segment 0 is the baseline, both 0).
    public var features: [Double] {
        var x = [Double](repeating: 0, count: SyntheticWorld.dimension)
        x[TaskType.allCases.firstIndex(of: taskType)!] = 1
        x[7 + ConstraintBand.allCases.firstIndex(of: band)!] = 1
        if segment > 0 { x[9 + segment] = 1 }
        return x
    }
}

/// A synthetic cold-start world: agents (users), models (arms) and a hidden reward function with
/// a planted optimal model per context. Pure: a function of its seed.
///
/// Hidden expected reward of model m in context (t, b, s):
/// `0.5 + u[m][t] + v[m][b] + w[m][s]`, u ∈ [−0.2, 0.2], v ∈ [−0.1, 0.1], w ∈ [−0.05, 0.05],
/// drawn from the seed — additive in the one-hot features, so the policy's linear model can
/// represent it exactly, and within [0.15, 0.85], so a reward with ±0.15 uniform noise stays in
/// [0, 1] without clipping (the expected reward is then exactly the mean above). The planted
/// optimum of a context is the model with the largest expected reward there.
public struct SyntheticWorld: Sendable {
    public static let dimension = 12
    public static let policy = "egreedy_v2"
    public static let policyVersion = "egreedy_v2@1.0.0+5e1f0c3a"
    public static let segments = 3
    public static let noise = 0.15

    public let seed: UInt64
    /// A drifting world (`simulate --drift`): halfway through the log (by event time) the task
    /// effects of the task types in ``driftedTaskTypes`` rotate among the models, which moves the
    /// planted optimum of most of their cells. The effects stay additive, so the policy's linear
    /// model can still represent the world after the change.
    public let drifts: Bool
    public let agents: [String]
    public let models: [String]
    public let contexts: [SyntheticContext]
    private let taskEffect: [[Double]]
    private let bandEffect: [[Double]]
    private let segmentEffect: [[Double]]

    /// The task types whose effects change in a drifting world: every other one (4 of 7, so 36 of
    /// the 63 cells).
    public static let driftedTaskTypes: Set<TaskType> = Set(
        TaskType.allCases.enumerated().filter { $0.offset.isMultiple(of: 2) }.map(\.element))
    /// After the drift, model m takes the task effect model (m + shift) mod 8 had before.
    static let driftShift = 3

    public init(seed: UInt64, agentCount: Int = 24, drifts: Bool = false) {
        precondition(agentCount >= Self.segments, "need at least one agent per segment")
        self.seed = seed
        self.drifts = drifts
        // Agent ids carry the seed, so worlds of different seeds never share (or pool) state.
        self.agents = (0..<agentCount).map { "synth-s\(seed)-agent-\($0 < 10 ? "0" : "")\($0)" }
        self.models = (0..<8).map { "model-\(Character(UnicodeScalar(UInt8(97 + $0))))" }
        var contexts: [SyntheticContext] = []
        for segment in 0..<Self.segments {
            for taskType in TaskType.allCases {
                for band in ConstraintBand.allCases {
                    contexts.append(SyntheticContext(taskType: taskType, band: band, segment: segment))
                }
            }
        }
        self.contexts = contexts
        // The world's own stream, apart from the log's, so --events does not change the world.
        var generator = SeededGenerator(seed: seed ^ 0x5157_4f52_4c44_0001)
        func draw(_ count: Int, _ half: Double) -> [[Double]] {
            (0..<8).map { _ in (0..<count).map { _ in (generator.unit() * 2 - 1) * half } }
        }
        self.taskEffect = draw(TaskType.allCases.count, 0.2)
        self.bandEffect = draw(ConstraintBand.allCases.count, 0.1)
        self.segmentEffect = draw(Self.segments, 0.05)
    }

    /// The segment of an agent (its index modulo 3).
    public func segment(ofAgent index: Int) -> Int { index % Self.segments }

    /// Expected reward of `models[model]` in `context`, before or after the drift.
    public func expectedReward(model: Int, in context: SyntheticContext, afterDrift: Bool = false) -> Double {
        let t = TaskType.allCases.firstIndex(of: context.taskType)!
        let b = ConstraintBand.allCases.firstIndex(of: context.band)!
        let taskModel =
            drifts && afterDrift && Self.driftedTaskTypes.contains(context.taskType)
            ? (model + Self.driftShift) % models.count : model
        return 0.5 + taskEffect[taskModel][t] + bandEffect[model][b] + segmentEffect[model][context.segment]
    }

    public func expectedRewards(in context: SyntheticContext, afterDrift: Bool = false) -> [Double] {
        models.indices.map { expectedReward(model: $0, in: context, afterDrift: afterDrift) }
    }

    /// Index of the planted optimal model (largest expected reward; ties → first id in byte order,
    /// which is index order here).
    public func optimalModel(in context: SyntheticContext, afterDrift: Bool = false) -> Int {
        let rewards = expectedRewards(in: context, afterDrift: afterDrift)
        return rewards.indices.max { rewards[$0] < rewards[$1] || (rewards[$0] == rewards[$1] && $0 > $1) }!
    }

    /// The logging policy's greedy model: deliberately the *worst* model of the context.
    public func loggingGreedyModel(in context: SyntheticContext, afterDrift: Bool = false) -> Int {
        let rewards = expectedRewards(in: context, afterDrift: afterDrift)
        return rewards.indices.min { rewards[$0] < rewards[$1] || (rewards[$0] == rewards[$1] && $0 < $1) }!
    }
}
