import BanditMath
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
}
