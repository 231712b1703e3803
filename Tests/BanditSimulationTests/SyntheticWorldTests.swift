import BanditCore
import BanditMath
import Foundation
import Testing

@testable import BanditSimulation

struct SyntheticWorldTests {
    static let world = SyntheticWorld(seed: 1)
    static let log = SyntheticLog(world: world)

    @Test func theDefaultWorldHasItsSize() {
        #expect(Self.world.agents.count >= 24)
        #expect(Self.world.models.count == 8)
        #expect(Self.world.contexts.count == 63)
        #expect(Set(Self.world.contexts.map(\.features)).count == 63)
        #expect(Self.log.outcomes.count >= 4_000)
        #expect(Self.world.contexts.allSatisfy { $0.features.count == SyntheticWorld.dimension })
    }

    @Test func theSameSeedGivesTheSameWorldAndLogAndAnotherSeedDoesNot() throws {
        let again = SyntheticLog(world: SyntheticWorld(seed: 1))
        #expect(again.outcomes == Self.log.outcomes)
        #expect(AnswerKey(log: again) == AnswerKey(log: Self.log))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]  // as simulate encodes: byte-identical bodies
        for (lhs, rhs) in zip(again.outcomes.prefix(50), Self.log.outcomes.prefix(50)) {
            #expect(try encoder.encode(again.decision(lhs)) == encoder.encode(Self.log.decision(rhs)))
        }
        let other = SyntheticLog(world: SyntheticWorld(seed: 2))
        #expect(other.outcomes.map(\.model) != Self.log.outcomes.map(\.model))
        #expect(AnswerKey(log: other).cells.map(\.optimalModel) != AnswerKey(log: Self.log).cells.map(\.optimalModel))
    }

    @Test func thePlantedOptimumIsReallyTheBestModelOfItsCell() {
        let key = AnswerKey(log: Self.log)
        for cell in key.cells {
            let best = cell.expectedRewards[cell.optimalModel]!
            for (model, value) in cell.expectedRewards where model != cell.optimalModel {
                #expect(value < best, "\(cell.cell): \(model) \(value) ≥ \(best)")
            }
            #expect(cell.gap > 0)
            #expect(cell.loggingGreedyModel != cell.optimalModel)
            #expect(cell.expectedRewards.values.allSatisfy { $0 >= 0.15 && $0 <= 0.85 })
        }
        // More than one model is planted somewhere: the optimum depends on the cell.
        #expect(Set(key.cells.map(\.optimalModel)).count > 1)
    }

    @Test func propensitiesAreTheLoggingDistributionAndSumToOne() {
        for outcome in Self.log.outcomes {
            #expect(abs(outcome.probabilities.reduce(0, +) - 1) <= 1e-12)
            #expect(outcome.probabilities.allSatisfy { $0 >= SyntheticLog.epsilon / 8 })
            let index = Self.world.models.firstIndex(of: outcome.model)!
            #expect(outcome.probabilities[index] == outcome.propensity)
            #expect(outcome.reward >= 0 && outcome.reward <= 1)
        }
        // The logging policy mostly plays its (wrong) greedy model: about 1 − ε + ε/K = 0.5625.
        let greedyShare =
            Double(
                Self.log.outcomes.filter {
                    $0.model == Self.world.models[Self.world.loggingGreedyModel(in: $0.context)]
                }
                .count) / Double(Self.log.outcomes.count)
        #expect(abs(greedyShare - 0.5625) < 0.03)
    }

    @Test func everyEventIsValidAndDecodesUnderTheShippedPolicies() throws {
        let decoder = EventDecoder(policies: .defaults)
        let encoder = JSONEncoder()
        for outcome in Self.log.outcomes.prefix(200) {
            for event in [Self.log.decision(outcome), Self.log.reward(outcome), Self.log.routing(outcome)] {
                let body = Array(try encoder.encode(event))
                let decoded = decoder.decode(subject: event.subject.rawValue, headers: [:], body: body, now: Date())
                guard case .success(let back) = decoded else {
                    Issue.record("rejected: \(decoded)")
                    continue
                }
                #expect(back.source == .synthetic)
            }
        }
    }

    /// Learning in memory from the log (what the daemon does, summed over agents) converges.
    @Test func theDefaultWorldConvergesWhenLearnedFromItsLog() {
        let key = AnswerKey(log: Self.log)
        var pooled: [String: ArmStatistics] = [:]
        var logged: [LoggedDecision] = []
        for outcome in Self.log.outcomes {
            pooled[outcome.model, default: .zero(dimension: 12)].add(
                features: outcome.context.features, reward: outcome.reward)
            logged.append(
                LoggedDecision(
                    features: outcome.context.features, armID: outcome.model, propensity: outcome.propensity,
                    reward: outcome.reward))
        }
        let report = ConvergenceReport(key: key, pooled: pooled, lambda: 1, logged: logged, minMatch: 0.7)
        #expect(report.coveredCells == 63)
        #expect(report.matchRate >= 0.7)
        #expect(report.passed)
        #expect(report.unmatchedDecisions == 0)
        #expect(report.learnedValue > report.loggingValue)
        #expect(report.regretTrafficWeighted >= 0 && report.regretTrafficWeighted < 0.05)
        let ips = report.learnedOffPolicy!
        #expect(abs(ips.snips! - report.learnedValue) < 0.05)
        #expect(abs(report.loggingObservedMean - report.loggingValue) < 0.02)
        print(
            "default world in memory: match \(report.matchedCells)/\(report.coveredCells) = \(report.matchRate), "
                + "regret/cell \(report.regretPerCell), weighted \(report.regretTrafficWeighted), "
                + "IPS \(ips.ips), SNIPS \(ips.snips!), ESS \(ips.effectiveSampleSize), "
                + "values opt \(report.optimalValue) learned \(report.learnedValue) logging \(report.loggingValue)")
    }
}

struct ConvergenceReportTests {
    /// Two cells, two models, exact state: the report counts, regrets and weights by hand.
    @Test func countsMatchesRegretAndImportanceWeightsByHand() throws {
        let key = AnswerKey(
            seed: 0, outcomes: 4, policy: "p", source: "synthetic", epsilon: 0.5, cellDefinition: "test",
            agents: ["u"], models: ["m1", "m2"],
            cells: [
                .init(
                    cell: "c1", taskType: "code", constraintBand: "low", segment: 0, features: [1, 0],
                    optimalModel: "m1", gap: 0.4, loggingGreedyModel: "m2", expectedRewards: ["m1": 0.8, "m2": 0.4],
                    outcomes: 2),
                .init(
                    cell: "c2", taskType: "chat", constraintBand: "low", segment: 0, features: [0, 1],
                    optimalModel: "m2", gap: 0.1, loggingGreedyModel: "m1", expectedRewards: ["m1": 0.5, "m2": 0.6],
                    outcomes: 2),
                .init(
                    cell: "c3", taskType: "embed", constraintBand: "low", segment: 0, features: [1, 1],
                    optimalModel: "m2", gap: 0.1, loggingGreedyModel: "m1", expectedRewards: ["m1": 0.5, "m2": 0.6],
                    outcomes: 0),
            ])
        // Learned: m1 is best everywhere (c1 matched, c2 not: regret 0.1).
        var m1 = ArmStatistics.zero(dimension: 2)
        for _ in 0..<10 {
            m1.add(features: [1, 0], reward: 1)
            m1.add(features: [0, 1], reward: 1)
        }
        let logged = [
            LoggedDecision(features: [1, 0], armID: "m1", propensity: 0.25, reward: 1),
            LoggedDecision(features: [1, 0], armID: "m2", propensity: 0.75, reward: 0),
            LoggedDecision(features: [0, 1], armID: "m1", propensity: 0.75, reward: 0.5),
            LoggedDecision(features: [0, 1], armID: "m2", propensity: 0.25, reward: 0.5),
            LoggedDecision(features: [9, 9], armID: "m2", propensity: 0.25, reward: 0.5),
        ]
        let report = ConvergenceReport(key: key, pooled: ["m1": m1], lambda: 1, logged: logged, minMatch: 0.5)
        #expect(report.coveredCells == 2)
        #expect(report.matchedCells == 1)
        #expect(report.matchRate == 0.5)
        #expect(report.passed)
        #expect(report.unmatchedDecisions == 1)
        #expect(abs(report.regretPerCell - 0.05) < 1e-12)
        #expect(abs(report.optimalValue - 0.7) < 1e-12)
        #expect(abs(report.learnedValue - 0.65) < 1e-12)
        // Target plays m1: weights 4 (r 1), 0, 4/3 (r 0.5), 0 → IPS (4 + 2/3)/4, SNIPS (4 + 2/3)/(16/3).
        let estimate = try #require(report.learnedOffPolicy)
        #expect(abs(estimate.ips - (4 + 2.0 / 3) / 4) < 1e-12)
        #expect(abs(estimate.snips! - (4 + 2.0 / 3) / (16.0 / 3)) < 1e-12)
        #expect(abs(report.loggingObservedMean - 0.5) < 1e-12)
        let strict = ConvergenceReport(key: key, pooled: ["m1": m1], lambda: 1, logged: logged, minMatch: 0.7)
        #expect(!strict.passed)
        let empty = ConvergenceReport(key: key, pooled: [:], lambda: 1, logged: [], minMatch: 0.7)
        #expect(empty.coveredCells == 0 && !empty.passed)
    }
}

struct ConvergenceAcrossSeedsTests {
    static func inMemoryReport(seed: UInt64, outcomes: Int) -> ConvergenceReport {
        let log = SyntheticLog(world: SyntheticWorld(seed: seed), count: outcomes)
        var pooled: [String: ArmStatistics] = [:]
        var logged: [LoggedDecision] = []
        for outcome in log.outcomes {
            pooled[outcome.model, default: .zero(dimension: 12)].add(
                features: outcome.context.features, reward: outcome.reward)
            logged.append(
                LoggedDecision(
                    features: outcome.context.features, armID: outcome.model, propensity: outcome.propensity,
                    reward: outcome.reward))
        }
        return ConvergenceReport(key: AnswerKey(log: log), pooled: pooled, lambda: 1, logged: logged, minMatch: 0.7)
    }

    /// Not one lucky seed: twenty default-size worlds, and the process test's small one.
    @Test func defaultSizeWorldsOfManySeedsReachTheThreshold() {
        var rates: [Double] = []
        for seed in UInt64(1)...20 {
            let report = Self.inMemoryReport(seed: seed, outcomes: SyntheticLog.defaultOutcomes)
            #expect(report.matchRate >= 0.7, "seed \(seed): \(report.matchRate)")
            rates.append(report.matchRate)
        }
        print("match rates, seeds 1…20: min \(rates.min()!), max \(rates.max()!), mean \(rates.reduce(0, +) / 20)")
        #expect(Self.inMemoryReport(seed: 5, outcomes: 1_500).passed)
    }
}
