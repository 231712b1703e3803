import BanditMath
import Foundation

/// The true value of a policy on a planted world's decisions, from the world's known reward
/// model — not estimated: V(π) = (1/n) Σᵢ Σₐ π(a|xᵢ) μ(xᵢ, a) over the evaluated decisions, with
/// μ(x, a) the answer key's expected reward of model a in the context whose features are x.
///
/// Averaging over exactly the held-out contexts (rather than the world's context distribution)
/// is what the estimators estimate; the truth then carries no context-sampling noise of its own.
public struct PlantedTruth: Sendable {
    private let rewards: [[Double]: [String: Double]]

    public init(key: AnswerKey) {
        var rewards: [[Double]: [String: Double]] = [:]
        for cell in key.cells { rewards[cell.features] = cell.expectedRewards }
        self.rewards = rewards
    }

    /// Nil for no decisions, or when a decision's context or a candidate with probability > 0
    /// is not in the key, or its target distribution is unknown.
    public func value(of decisions: [HeldOutDecision]) -> Double? {
        guard !decisions.isEmpty else { return nil }
        var sum = 0.0
        for decision in decisions {
            guard let expected = rewards[decision.features], let target = decision.targetProbabilities else {
                return nil
            }
            for (index, model) in decision.candidates.enumerated() where target[index] > 0 {
                guard let reward = expected[model] else { return nil }
                sum += target[index] * reward
            }
        }
        return sum / Double(decisions.count)
    }
}

extension SyntheticLog {
    /// The log as `decisions` holds it once the daemon applied it: every decision rewarded, the
    /// world's models as candidates, the logging distribution as probabilities.
    public var interactions: [LoggedInteraction] {
        outcomes.map { outcome in
            LoggedInteraction(
                key: DecisionKey(bytes: outcome.decisionID.bytes), userID: outcome.agent, armID: outcome.model,
                features: outcome.context.features, propensity: outcome.propensity, candidates: world.models,
                probabilities: outcome.probabilities, reward: outcome.reward)
        }
    }
}
