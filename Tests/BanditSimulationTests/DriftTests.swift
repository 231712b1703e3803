import BanditCore
import BanditMath
import Foundation
import Testing

@testable import BanditSimulation

/// `simulate --drift`: the planted optimum of about half the cells changes halfway through; with
/// forgetting the learned state follows the change, without it the old half of the log holds it
/// back. Measured in memory, the way the daemon sums state (a pooled ridge per model, every update
/// weighted by its event time), read at the log's last event.
@Suite struct DriftTests {
    /// The match rate against the optimum after the drift, with half-life `halfLife` (nil: none).
    static func matchRate(seed: UInt64, outcomes: Int, halfLife: Double?) -> Double {
        let log = SyntheticLog(world: SyntheticWorld(seed: seed, drifts: true), count: outcomes)
        let key = AnswerKey(log: log)
        var states: [String: ForgettingState] = [:]
        var logged: [BanditSimulation.LoggedDecision] = []
        let readAt = log.lastEventAt.timeIntervalSince1970
        for outcome in log.outcomes {
            states[outcome.model, default: ForgettingState(statistics: .zero(dimension: SyntheticWorld.dimension))]
                .apply(
                    [
                        TimedUpdate(
                            features: outcome.context.features, reward: outcome.reward,
                            time: outcome.occurredAt.timeIntervalSince1970)
                    ], halfLife: halfLife, now: readAt)
            logged.append(
                BanditSimulation.LoggedDecision(
                    features: outcome.context.features, armID: outcome.model, propensity: outcome.propensity,
                    reward: outcome.reward))
        }
        let pooled = states.mapValues { $0.effective(at: readAt) }
        return ConvergenceReport(key: key, pooled: pooled, lambda: 1, logged: logged, minMatch: 0.8).matchRate
    }

    @Test func theDriftChangesTheOptimumOfAboutHalfTheCellsHalfwayThrough() throws {
        let log = SyntheticLog(world: SyntheticWorld(seed: 1, drifts: true), count: 4000)
        let key = AnswerKey(log: log)
        let drift = try #require(key.drift)
        #expect(log.driftIndex == 2000)
        #expect(drift.taskTypes == ["reasoning", "extraction", "tool_use", "general"])
        #expect(drift.changedCells.count >= 20 && drift.changedCells.count <= 36)
        #expect(key.readAt == "2026-01-01T01:06:39Z")
        // A world without drift is the one it always was.
        let plain = AnswerKey(log: SyntheticLog(world: SyntheticWorld(seed: 1), count: 4000))
        #expect(plain.drift == nil)
        #expect(plain.cells.map(\.optimalModel) != key.cells.map(\.optimalModel))
    }

    /// Seeds 1–5, 8,000 outcomes (the drift at 4,000), half-life 1,200 s: measured 0.794, 0.825,
    /// 0.841, 0.825, 0.762 (mean 0.81) with forgetting, 0.651, 0.651, 0.635, 0.635, 0.635 without.
    @Test func withForgettingTheLearnedOptimumFollowsTheDriftAndWithoutItLagsBehind() {
        let with = (1...5).map { Self.matchRate(seed: UInt64($0), outcomes: 8000, halfLife: 1200) }
        let without = (1...5).map { Self.matchRate(seed: UInt64($0), outcomes: 8000, halfLife: nil) }
        print("drift, 8000 outcomes: with half_life_s 1200 \(with), without \(without)")
        #expect(with.reduce(0, +) / 5 >= 0.8)
        #expect(without.allSatisfy { $0 <= 0.7 })
        #expect(zip(with, without).allSatisfy { $0 > $1 + 0.1 })
        // The seed the README and the process test use.
        #expect(with[2] >= 0.8)
    }
}
