import BanditCore
import BanditMath
import Foundation
import Testing

@testable import BanditSimulation

/// The README's accuracy table: `report ope`'s estimators for the learned policy over 20 planted
/// worlds (`simulate --seed 1…20`, 4,000 outcomes each), against the true value from each
/// world's reward model. `swift test --filter EstimatorAccuracyTests` prints the table.
struct EstimatorAccuracyTests {
    static let study = EstimatorAccuracyStudy(
        seeds: Array(1...20), settings: OffPolicySettings(candidate: .learned))

    @Test func doublyRobustIsWithinFivePercentAndItsIntervalCoversTheTruthInEighteenOfTwentyWorlds() throws {
        print("report ope accuracy, learned policy, 20 planted worlds × 4,000 outcomes:\n\(Self.study.table)")
        for result in Self.study.results {
            print(
                "seed \(result.seed): n \(result.count), truth \(result.truth), "
                    + OffPolicyEstimator.allCases.map {
                        "\($0.rawValue) \(result.estimates[$0]?.value ?? .nan) [\(result.estimates[$0]?.lo ?? .nan), \(result.estimates[$0]?.hi ?? .nan)]"
                    }.joined(separator: ", "))
        }
        let dr = try #require(Self.study.summary.first { $0.estimator == .dr })
        #expect(dr.medianRelativeError <= 0.05)
        #expect(dr.covering >= 18)
    }

    @Test func switchDRBelowTheWorldsLargestWeightFallsBackToTheModel() throws {
        // Every weight of these worlds is 16 (a logged exploration arm) or 1.78 (the logged greedy arm),
        // so the default threshold 20 makes Switch-DR equal to DR; at 10 it drops the exploration
        // corrections and moves to DM.
        let study = EstimatorAccuracyStudy(
            seeds: Array(1...20), settings: OffPolicySettings(candidate: .learned, switchThreshold: 10))
        print("the same with --switch-threshold 10:\n\(study.table)")
        for (result, baseline) in zip(study.results, Self.study.results) {
            #expect(result.estimates[.switchDR]?.value != baseline.estimates[.switchDR]?.value)
            let switched = try #require(result.estimates[.switchDR]?.value)
            let dm = try #require(result.estimates[.dm]?.value)
            let dr = try #require(result.estimates[.dr]?.value)
            #expect(Swift.abs(switched - dm) < Swift.abs(dr - dm))
            #expect(baseline.estimates[.switchDR] == baseline.estimates[.dr])
        }
    }
}

struct PlantedTruthTests {
    @Test func theTrueValueIsTheTargetsExpectedRewardAveragedOverTheEvaluatedContexts() throws {
        let log = SyntheticLog(world: SyntheticWorld(seed: 3), count: 10)
        let key = AnswerKey(log: log)
        let world = log.world
        // Two held-out decisions of different contexts; the target mixes two models in the first.
        let first = log.outcomes[0]
        let second = log.outcomes[1]
        let decisions = [
            HeldOutDecision(
                key: DecisionKey(high: 0, low: 0), features: first.context.features, candidates: world.models,
                armID: first.model, reward: first.reward,
                targetProbabilities: world.models.indices.map { $0 == 0 ? 0.25 : $0 == 5 ? 0.75 : 0 }),
            HeldOutDecision(
                key: DecisionKey(high: 0, low: 1), features: second.context.features, candidates: world.models,
                armID: second.model, reward: second.reward,
                targetProbabilities: world.models.indices.map { $0 == 2 ? 1 : 0 }),
        ]
        let expected =
            (0.25 * world.expectedReward(model: 0, in: first.context)
                + 0.75 * world.expectedReward(model: 5, in: first.context)
                + world.expectedReward(model: 2, in: second.context)) / 2
        let value = try #require(PlantedTruth(key: key).value(of: decisions))
        #expect(Swift.abs(value - expected) < 1e-15)
        // Unknown context, unknown target distribution, nothing evaluated: no truth.
        var foreign = decisions[0]
        foreign.features = [Double](repeating: 0, count: SyntheticWorld.dimension)
        #expect(PlantedTruth(key: key).value(of: [foreign]) == nil)
        var unknown = decisions[0]
        unknown.targetProbabilities = nil
        #expect(PlantedTruth(key: key).value(of: [unknown]) == nil)
        #expect(PlantedTruth(key: key).value(of: []) == nil)
    }

    @Test func theLogsInteractionsAreTheDecisionsAsLogged() throws {
        let log = SyntheticLog(world: SyntheticWorld(seed: 4), count: 50)
        for (interaction, outcome) in zip(log.interactions, log.outcomes) {
            guard case .decision(let decision) = log.decision(outcome) else {
                Issue.record("not a decision")
                continue
            }
            #expect(interaction.armID == decision.armID)
            #expect(interaction.features == decision.features)
            #expect(interaction.propensity == decision.propensity)
            #expect(interaction.candidates == decision.candidates)
            #expect(interaction.probabilities == decision.probabilities)
            #expect(interaction.reward == outcome.reward)
            #expect(interaction.userID == decision.userID)
            #expect(interaction.key == DecisionKey(bytes: withUnsafeBytes(of: decision.decisionID.uuid) { Array($0) }))
        }
    }
}
