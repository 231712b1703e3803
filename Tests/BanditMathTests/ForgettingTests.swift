import Foundation
import Testing

@testable import BanditMath

/// CONTRACT section 8: forgetting by event time, stored so that updates commute, without
/// overflow or loss of precision for event times spread over ten years; and the late correction
/// that makes (decision, default closing, late reward) equal (decision, on-time reward).
@Suite struct ForgettingTests {
    static let day = 86_400.0
    static let tenYears = 3650 * day

    /// Largest relative difference between two arms' a and b (against the larger magnitude of
    /// the entry pair, floored by the largest entry of `reference` times 1e-300).
    func relativeDifference(_ lhs: ArmStatistics, _ rhs: ArmStatistics) -> Double {
        let scale = max((rhs.a + rhs.b).map(Swift.abs).max() ?? 0, 1e-300)
        var worst = 0.0
        for (x, y) in zip(lhs.a + lhs.b, rhs.a + rhs.b) { worst = max(worst, Swift.abs(x - y) / scale) }
        return worst
    }

    func randomUpdates(_ count: Int, dimension: Int, span: Double, seed: UInt64) -> [TimedUpdate] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            TimedUpdate(
                features: (0..<dimension).map { _ in Double.random(in: -1...1, using: &generator) },
                reward: Double.random(in: -1...1, using: &generator),
                time: 1_700_000_000 + Double.random(in: 0...span, using: &generator))
        }
    }

    @Test func anUpdateWeighsTwoToTheMinusAgeInHalfLives() {
        let forgetting = Forgetting(halfLife: 100)
        #expect(forgetting.weight(at: 1000, reference: 1000) == 1)
        #expect(forgetting.weight(at: 900, reference: 1000) == 0.5)
        #expect(forgetting.weight(at: 1200, reference: 1000) == 4)
        #expect(forgetting.readFactor(reference: 1000, readAt: 1300) == 0.125)
        // Read at τ, an update at t counts 2^(−(τ − t)/h), whatever the row's reference time.
        var state = ForgettingState(statistics: .zero(dimension: 1))
        state.apply([TimedUpdate(features: [2], reward: 1, time: 1000)], halfLife: 100, now: 5000)
        let read = state.effective(at: 1100)
        #expect(read.a == [4 * 0.5])
        #expect(read.b == [2 * 0.5])
        #expect(read.n == 1)
        #expect(read.rewardSum == 1)
    }

    @Test func anyOrderAndAnyBatchingGiveTheSameEffectiveState() {
        let updates = randomUpdates(400, dimension: 4, span: 400 * Self.day, seed: 7)
        let halfLife = 5 * Self.day  // 80 half-lives over the span: the reference must move
        let readAt = 1_700_000_000 + 400 * Self.day
        func fold(_ order: [TimedUpdate], batches: Int) -> ArmStatistics {
            var state = ForgettingState(statistics: .zero(dimension: 4))
            let size = (order.count + batches - 1) / batches
            for start in stride(from: 0, to: order.count, by: size) {
                state.apply(Array(order[start..<min(start + size, order.count)]), halfLife: halfLife, now: readAt)
            }
            return state.effective(at: readAt)
        }
        let reference = fold(updates.sorted { $0.time < $1.time }, batches: 1)
        var generator = SeededGenerator(seed: 11)
        for batches in [1, 3, 17, 400] {
            let shuffled = updates.shuffled(using: &generator)
            let other = fold(shuffled, batches: batches)
            #expect(relativeDifference(other, reference) < 1e-9, "\(batches) batches")
            #expect(other.n == reference.n)
            #expect(Swift.abs(other.rewardSum - reference.rewardSum) < 1e-9)
        }
    }

    /// 10⁶ updates spread over ten years against a double-double (≈ 32 significant digits)
    /// reference of Σ 2^(−(τ − t)/h) x xᵀ and Σ 2^(−(τ − t)/h) r x.
    @Test func aMillionUpdatesOverTenYearsStayWithinOneBillionthOfAHighPrecisionReference() {
        let dimension = 3
        let count = 1_000_000
        for halfLife in [30 * Self.day, 365 * Self.day] {
            let updates = randomUpdates(count, dimension: dimension, span: Self.tenYears, seed: 3)
            let readAt = 1_700_000_000 + Self.tenYears
            var state = ForgettingState(statistics: .zero(dimension: dimension))
            // Arriving in batches of 1,000 in stream order, as a daemon would fold them.
            for start in stride(from: 0, to: count, by: 1000) {
                state.apply(Array(updates[start..<start + 1000]), halfLife: halfLife, now: readAt)
            }
            let effective = state.effective(at: readAt)

            var referenceA = [DoubleDouble](repeating: .zero, count: dimension * dimension)
            var referenceB = [DoubleDouble](repeating: .zero, count: dimension)
            for update in updates {
                let weight = exp2(-(readAt - update.time) / halfLife)
                for i in 0..<dimension {
                    let wxi = DoubleDouble.product(weight, update.features[i])
                    for j in 0..<dimension { referenceA[i * dimension + j].add(wxi.times(update.features[j])) }
                    referenceB[i].add(wxi.times(update.reward))
                }
            }
            let expected = try! ArmStatistics(
                dimension: dimension, a: referenceA.map(\.value), b: referenceB.map(\.value), n: Int64(count),
                rewardSum: effective.rewardSum)
            #expect(effective.a.allSatisfy { $0.isFinite } && effective.b.allSatisfy { $0.isFinite })
            #expect(relativeDifference(effective, expected) < 1e-9, "half-life \(halfLife / Self.day) days")
            #expect(effective.n == Int64(count))
        }
    }

    @Test func eventTimesFarApartNeverOverflow() {
        var state = ForgettingState(statistics: .zero(dimension: 2))
        let halfLife = 60.0  // ten years are 5 million half-lives
        state.apply([TimedUpdate(features: [1, 1], reward: 1, time: 0)], halfLife: halfLife, now: 0)
        state.apply([TimedUpdate(features: [1, -1], reward: -1, time: Self.tenYears)], halfLife: halfLife, now: 0)
        state.apply([TimedUpdate(features: [1, 1], reward: 1, time: 1)], halfLife: halfLife, now: 0)
        #expect(state.statistics.a.allSatisfy { $0.isFinite })
        let read = state.effective(at: Self.tenYears)
        // Only the recent update still counts (the old ones are 2^-5e6 of it: nothing).
        #expect(read.a == [1, -1, -1, 1])
        #expect(read.b == [-1, 1])
        #expect(read.n == 3)
    }

    /// A row created under forgetting takes its reference time from its first updates, not from
    /// the clock: event times far in the past (a simulated world, a replay) keep their weights.
    @Test func aNewRowIsReferencedAtItsUpdatesNotAtTheClock() {
        var state = ForgettingState(statistics: .zero(dimension: 1))
        state.apply([TimedUpdate(features: [1], reward: 1, time: 1000)], halfLife: 100, now: 9e9)
        #expect(state.reference == 1000)
        #expect(state.effective(at: 1100).a == [0.5])
    }

    @Test func withoutForgettingTheSumsArePlain() {
        var state = ForgettingState(statistics: .zero(dimension: 2))
        state.apply(
            [
                TimedUpdate(features: [1, 2], reward: 0.5, time: 0),
                TimedUpdate(features: [1, 2], reward: 1, time: 9e9),
            ],
            halfLife: nil, now: 0)
        #expect(state.reference == nil)
        #expect(state.statistics.a == [2, 4, 4, 8])
        #expect(state.statistics.b == [1.5, 3])
        #expect(state.effective(at: 1e12) == state.statistics)
    }

    @Test func aChangedHalfLifeAppliesFromTheFirstUpdateAfterTheChange() {
        var state = ForgettingState(statistics: .zero(dimension: 1))
        state.apply([TimedUpdate(features: [1], reward: 1, time: 0)], halfLife: nil, now: 0)
        // Forgetting switched on at t = 100: the old sums count as observed then.
        state.apply([TimedUpdate(features: [1], reward: 1, time: 100)], halfLife: 100, now: 100)
        #expect(state.halfLife == 100)
        #expect(state.effective(at: 200).a == [1])  // (1 + 1) · 2^(−1)
        // Switched off again at t = 300: the effective sums then become plain sums.
        state.apply([TimedUpdate(features: [1], reward: 1, time: 300)], halfLife: nil, now: 300)
        #expect(state.reference == nil && state.halfLife == nil)
        #expect(state.statistics.a == [1.5])  // 2 · 2^(−2) + 1
    }

    /// For random event sets: (decision, window passes and the default d is applied, late reward
    /// r corrects by r − d) ends exactly where (decision, on-time reward r) does: same n and a,
    /// b and reward_sum within 1e-9 relative — with and without forgetting.
    @Test func aLateRewardLeavesTheStateAnOnTimeRewardWouldHaveMade() {
        var generator = SeededGenerator(seed: 21)
        for round in 0..<200 {
            let dimension = Int.random(in: 1...12, using: &generator)
            let halfLife: Double? = round.isMultiple(of: 2) ? nil : Double.random(in: 60...1e8, using: &generator)
            let defaultReward = Double.random(in: -1...1, using: &generator)
            let decisions = randomUpdates(
                Int.random(in: 1...30, using: &generator), dimension: dimension,
                span: Self.tenYears, seed: UInt64(round) + 100)
            let others = randomUpdates(20, dimension: dimension, span: Self.tenYears, seed: UInt64(round) + 900)
            let now = 1_700_000_000 + Self.tenYears

            var onTime = ForgettingState(statistics: .zero(dimension: dimension))
            onTime.apply(others + decisions, halfLife: halfLife, now: now)

            var late = ForgettingState(statistics: .zero(dimension: dimension))
            late.apply(others, halfLife: halfLife, now: now)
            late.apply(
                decisions.map { TimedUpdate(features: $0.features, reward: defaultReward, time: $0.time) },
                halfLife: halfLife, now: now)
            late.apply(
                decisions.shuffled(using: &generator).map {
                    TimedUpdate(
                        features: $0.features, reward: $0.reward - defaultReward, time: $0.time, kind: .correction)
                }, halfLife: halfLife, now: now)

            let lhs = late.effective(at: now)
            let rhs = onTime.effective(at: now)
            #expect(lhs.n == rhs.n)
            #expect(relativeDifference(lhs, rhs) < 1e-9, "round \(round)")
            #expect(Swift.abs(lhs.rewardSum - rhs.rewardSum) <= 1e-9 * max(1, Swift.abs(rhs.rewardSum)))
        }
    }
}

/// An unevaluated sum hi + lo with |lo| ≤ ulp(hi)/2: about 32 significant digits, for reference
/// values (Knuth's two-sum, Dekker's product via fma).
struct DoubleDouble {
    var hi: Double
    var lo: Double

    static let zero = DoubleDouble(hi: 0, lo: 0)

    var value: Double { hi + lo }

    static func product(_ x: Double, _ y: Double) -> DoubleDouble {
        let hi = x * y
        // fma(x, y, −hi): the exact rounding error of the product.
        return DoubleDouble(hi: hi, lo: (-hi).addingProduct(x, y))
    }

    func times(_ y: Double) -> DoubleDouble {
        let product = DoubleDouble.product(hi, y)
        return DoubleDouble.normalized(product.hi, product.lo + lo * y)
    }

    mutating func add(_ other: DoubleDouble) {
        let sum = hi + other.hi
        let bb = sum - hi
        let error = (hi - (sum - bb)) + (other.hi - bb)
        self = DoubleDouble.normalized(sum, error + lo + other.lo)
    }

    static func normalized(_ hi: Double, _ lo: Double) -> DoubleDouble {
        let sum = hi + lo
        return DoubleDouble(hi: sum, lo: lo - (sum - hi))
    }
}
