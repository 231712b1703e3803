import BanditCore
import BanditMath
import Foundation

/// One logged interaction of the synthetic world: the context, the logging policy's play and
/// the noisy reward drawn for it.
public struct SyntheticOutcome: Sendable, Equatable {
    public var index: Int
    public var agent: String
    public var context: SyntheticContext
    public var model: String
    public var propensity: Double
    public var explored: Bool
    /// The logging policy's full distribution over ``SyntheticWorld/models`` (in that order).
    public var probabilities: [Double]
    public var reward: Double
    public var decisionID: UUID
    public var decisionEventID: UUID
    public var rewardEventID: UUID
    public var routingEventID: UUID
    public var inferenceID: UUID
    public var occurredAt: Date
}

/// The deliberately suboptimal logging policy and the log it writes: ε-greedy (ε = 0.5, K = 8)
/// around the *worst* model of each context, so the greedy arm is played with probability
/// 1 − ε + ε/K = 0.5625 and every other arm with ε/K = 0.0625 — every arm has a logged
/// propensity ≥ 1/16, which keeps importance weights bounded (≤ 16).
public struct SyntheticLog: Sendable {
    public static let epsilon = 0.5
    public static let defaultOutcomes = 4_000
    /// occurred_at of outcome i is this instant + i seconds: fixed, so the whole log (ids, bodies)
    /// is a function of the seed and a re-run with the same seed is a duplicate, not new data.
    public static let epoch = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z

    public let world: SyntheticWorld
    public let outcomes: [SyntheticOutcome]
    /// In a drifting world, the index of the first outcome drawn from the world after the drift
    /// (the log's middle); nil otherwise.
    public let driftIndex: Int?

    /// The event time of the drift (the first outcome after it), if the world drifts.
    public var driftAt: Date? { driftIndex.map { Self.epoch.addingTimeInterval(Double($0)) } }

    /// The event time of the last outcome: the moment to read a forgetting state at.
    public var lastEventAt: Date { Self.epoch.addingTimeInterval(Double(max(outcomes.count - 1, 0))) }

    public init(world: SyntheticWorld, count: Int = defaultOutcomes) {
        precondition(count >= 0, "count must not be negative")
        self.world = world
        var generator = SeededGenerator(seed: world.seed ^ 0x4c4f_4747_494e_4700)
        let policy = EpsilonGreedy(epsilon: Self.epsilon)
        var outcomes: [SyntheticOutcome] = []
        outcomes.reserveCapacity(count)
        let driftIndex = world.drifts ? count / 2 : nil
        self.driftIndex = driftIndex
        for index in 0..<count {
            let afterDrift = driftIndex.map { index >= $0 } ?? false
            let agentIndex = generator.index(below: world.agents.count)
            let context = SyntheticContext(
                taskType: TaskType.allCases[generator.index(below: TaskType.allCases.count)],
                band: ConstraintBand.allCases[generator.index(below: ConstraintBand.allCases.count)],
                segment: world.segment(ofAgent: agentIndex))
            let expected = world.expectedRewards(in: context, afterDrift: afterDrift)
            let worst = world.loggingGreedyModel(in: context, afterDrift: afterDrift)
            // The logging policy's "estimates": the worst model ranked first.
            let estimates = world.models.indices.map {
                ArmEstimate(armID: world.models[$0], mean: $0 == worst ? 1 : 0)
            }
            let selection = policy.selection(arms: estimates)
            let explored = generator.unit() < Self.epsilon
            let chosen = explored ? generator.index(below: world.models.count) : selection.greedyIndex
            let noise = (generator.unit() * 2 - 1) * SyntheticWorld.noise
            let reward = min(1, max(0, expected[chosen] + noise))
            outcomes.append(
                SyntheticOutcome(
                    index: index, agent: world.agents[agentIndex], context: context, model: world.models[chosen],
                    propensity: selection.probabilities[chosen], explored: explored,
                    probabilities: selection.probabilities, reward: reward,
                    decisionID: UUID(bytes: generator.uuidBytes()), decisionEventID: UUID(bytes: generator.uuidBytes()),
                    rewardEventID: UUID(bytes: generator.uuidBytes()),
                    routingEventID: UUID(bytes: generator.uuidBytes()),
                    inferenceID: UUID(bytes: generator.uuidBytes()),
                    occurredAt: Self.epoch.addingTimeInterval(Double(index))))
        }
        self.outcomes = outcomes
    }

    /// The `signals.decision` of an outcome (source synthetic, the logging distribution kept
    /// for off-policy evaluation).
    public func decision(_ outcome: SyntheticOutcome) -> Event {
        .decision(
            Decision(
                eventID: outcome.decisionEventID, occurredAt: outcome.occurredAt, userID: outcome.agent,
                source: .synthetic, decisionID: outcome.decisionID, policy: SyntheticWorld.policy,
                policyVersion: SyntheticWorld.policyVersion, armID: outcome.model, propensity: outcome.propensity,
                features: outcome.context.features, candidates: world.models, probabilities: outcome.probabilities,
                explored: outcome.explored))
    }

    /// The `feedback.reward` joining the decision by `decision_id`.
    public func reward(_ outcome: SyntheticOutcome) -> Event {
        .reward(
            Reward(
                eventID: outcome.rewardEventID, occurredAt: outcome.occurredAt, userID: outcome.agent,
                source: .synthetic, reward: outcome.reward, target: .decision(id: outcome.decisionID)))
    }

    /// The `feedback.routing` outcome (no bandit update: the decision's reward already taught
    /// the policy), so routing cells and `report cells` have synthetic data.
    public func routing(_ outcome: SyntheticOutcome) -> Event {
        let model = world.models.firstIndex(of: outcome.model)!
        return .routing(
            RoutingOutcome(
                eventID: outcome.routingEventID, occurredAt: outcome.occurredAt, userID: outcome.agent,
                source: .synthetic, inferenceID: outcome.inferenceID, taskType: outcome.context.taskType,
                taskTypeSource: .caller, policyVersion: SyntheticWorld.policyVersion, model: outcome.model,
                provider: "synthetic", constraintBand: outcome.context.band, reward: outcome.reward,
                latencyMs: Double(200 + 150 * model), costUSD: 0.0005 * Double(model + 1), completed: true))
    }
}

extension UUID {
    /// The 16 bytes in order (as PostgreSQL stores and compares a uuid).
    var bytes: [UInt8] { withUnsafeBytes(of: uuid) { Array($0) } }

    init(bytes b: [UInt8]) {
        self.init(
            uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
        )
    }
}
