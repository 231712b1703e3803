import Testing

@testable import BanditMath

@Suite struct ArmStatisticsTests {
    @Test func zeroStatisticsAreThePriorOfTheGivenDimension() {
        let zero = ArmStatistics.zero(dimension: 3)
        #expect(zero.dimension == 3)
        #expect(zero.a == [Double](repeating: 0, count: 9))
        #expect(zero.b == [0, 0, 0])
        #expect(zero.n == 0)
        #expect(zero.rewardSum == 0)
    }

    @Test func addAccumulatesOuterProductsRowMajorAndRewardWeightedFeatures() {
        // x1 = (1, 2), r1 = 0.5; x2 = (3, -1), r2 = -1
        // a = [[1, 2], [2, 4]] + [[9, -3], [-3, 1]] = [[10, -1], [-1, 5]]
        // b = 0.5·(1, 2) − 1·(3, −1) = (−2.5, 2)
        let stats = statistics(dimension: 2, [([1, 2], 0.5), ([3, -1], -1)])
        #expect(stats.a == [10, -1, -1, 5])
        #expect(stats.b == [-2.5, 2])
        #expect(stats.n == 2)
        #expect(stats.rewardSum == -0.5)
    }

    @Test func storedRowsWithWrongLengthsAreRejected() {
        #expect(throws: BanditMathError.malformedStatistics(dimension: 2, aCount: 3, bCount: 2)) {
            try ArmStatistics(dimension: 2, a: [1, 2, 3], b: [1, 2], n: 1, rewardSum: 0)
        }
        #expect(throws: BanditMathError.malformedStatistics(dimension: 2, aCount: 4, bCount: 1)) {
            try ArmStatistics(dimension: 2, a: [1, 0, 0, 1], b: [1], n: 1, rewardSum: 0)
        }
        #expect(throws: BanditMathError.self) {
            try ArmStatistics(dimension: 0, a: [], b: [], n: 0, rewardSum: 0)
        }
    }

    @Test func storedRowsKeepNonFiniteValuesSoTheyCanBeReported() throws {
        let stats = try ArmStatistics(dimension: 1, a: [.nan], b: [.infinity], n: 1, rewardSum: 0)
        #expect(!stats.isFinite)
        #expect(ArmStatistics.zero(dimension: 1).isFinite)
    }

    @Test func mergeIsCommutativeAndEqualsAddingEveryUpdate() {
        let first = statistics(dimension: 2, [([0.1, 0.2], 1), ([0.3, -0.7], 0.25)])
        let second = statistics(dimension: 2, [([1e3, 2e-3], -1)])
        #expect(first + second == second + first)
        let sequential = statistics(dimension: 2, [([0.1, 0.2], 1), ([0.3, -0.7], 0.25), ([1e3, 2e-3], -1)])
        #expect(first + second == sequential)
        var merged = first
        merged += second
        #expect(merged == sequential)
    }

    @Test func batchGroupsUpdatesIntoOneDeltaPerKeyInAscendingKeyOrder() {
        var batch = ArmStatisticsBatch<String>()
        #expect(batch.isEmpty)
        batch.add(key: "u2|arm-b", features: [1, 0], reward: 1)
        batch.add(key: "u1|arm-a", features: [0, 1], reward: 0.5)
        batch.add(key: "u2|arm-b", features: [1, 1], reward: -1)
        #expect(batch.count == 2)
        #expect(batch.deltas.map(\.key) == ["u1|arm-a", "u2|arm-b"])
        #expect(batch["u2|arm-b"] == statistics(dimension: 2, [([1, 0], 1), ([1, 1], -1)]))
        #expect(batch["u1|arm-a"]?.n == 1)
        #expect(batch["missing"] == nil)

        batch.merge(key: "u1|arm-a", statistics: statistics(dimension: 2, [([2, 2], 1)]))
        batch.merge(key: "u0|arm-c", statistics: statistics(dimension: 2, [([3, 3], 1)]))
        #expect(batch.deltas.map(\.key) == ["u0|arm-c", "u1|arm-a", "u2|arm-b"])
        #expect(batch["u1|arm-a"] == statistics(dimension: 2, [([0, 1], 0.5), ([2, 2], 1)]))
    }

    @Test func batchDeltasAddedToStoredStateEqualApplyingEveryUpdate() {
        let stored = statistics(dimension: 3, [([1, 2, 3], 1)])
        var batch = ArmStatisticsBatch<Int>()
        batch.add(key: 7, features: [0, 1, 0], reward: 0.5)
        batch.add(key: 7, features: [2, 0, 1], reward: -0.5)
        let updated = stored + batch[7]!
        #expect(updated == statistics(dimension: 3, [([1, 2, 3], 1), ([0, 1, 0], 0.5), ([2, 0, 1], -0.5)]))
    }
}
