import Testing

@testable import BanditMath

@Suite struct OffPolicyEvaluationTests {
    /// The first `count` ids on each side of the 30 % split.
    static func keys(heldOut: Bool, count: Int, fraction: Double = 0.3) -> [DecisionKey] {
        var keys: [DecisionKey] = []
        var low: UInt64 = 0
        while keys.count < count {
            let key = DecisionKey(high: 42, low: low)
            if HoldoutSplit.isHeldOut(key, fraction: fraction) == heldOut { keys.append(key) }
            low += 1
        }
        return keys
    }

    static func row(
        _ key: DecisionKey, arm: String, reward: Double, propensity: Double = 0.5, user: String = "u",
        features: [Double] = [1], candidates: [String] = ["a", "b"], probabilities: [Double]? = [0.5, 0.5]
    ) -> LoggedInteraction {
        LoggedInteraction(
            key: key, userID: user, armID: arm, features: features, propensity: propensity, candidates: candidates,
            probabilities: probabilities, reward: reward)
    }

    /// d = 1, x = 1, λ = 1. Training: arm a rewards 1, 1 → θ_a = 2/(1 + 2) = 2/3; arm b rewards 0, 0.5 →
    /// θ_b = 0.5/3 = 1/6. Held out: (a, μ ½, r 1) and (b, μ ½, r 0), candidates {a, b} at ½ each.
    static var handRows: [LoggedInteraction] {
        let training = keys(heldOut: false, count: 4)
        let heldOut = keys(heldOut: true, count: 2)
        return [
            row(training[0], arm: "a", reward: 1), row(training[1], arm: "a", reward: 1),
            row(training[2], arm: "b", reward: 0), row(training[3], arm: "b", reward: 0.5),
            row(heldOut[0], arm: "a", reward: 1), row(heldOut[1], arm: "b", reward: 0),
        ]
    }

    static func value(_ evaluation: OffPolicyEvaluation, _ estimator: OffPolicyEstimator) throws -> Double {
        try #require(evaluation.estimates[estimator]?.value)
    }

    @Test func theLearnedPolicyMatchesTheHandComputedPipeline() throws {
        // Learned plays a (2/3 > 1/6): w = 2 for the a row, 0 for the b row.
        // IPS = (2·1 + 0)/2 = 1;  SNIPS = 2/2 = 1;  DM = (2/3 + 2/3)/2 = 2/3;
        // DR = 2/3 + (2·(1 − 2/3) + 0)/2 = 1;  ESS = 2²/2² = 1;  logging value = (1 + 0)/2 = ½.
        let evaluation = OffPolicyEvaluation(
            interactions: Self.handRows, dimension: 1, settings: OffPolicySettings(candidate: .learned))
        #expect(evaluation.count == 2)
        #expect(evaluation.trainingCount == 4)
        #expect(evaluation.malformedCount == 0)
        #expect(relativeError(try Self.value(evaluation, .ips), 1) < 1e-15)
        #expect(relativeError(try Self.value(evaluation, .snips), 1) < 1e-15)
        #expect(relativeError(try Self.value(evaluation, .dm), 2.0 / 3) < 1e-15)
        #expect(relativeError(try Self.value(evaluation, .dr), 1) < 1e-15)
        #expect(relativeError(try Self.value(evaluation, .switchDR), 1) < 1e-15)
        #expect(evaluation.effectiveSampleSize == 1)
        #expect(evaluation.loggingValue == 0.5)
        #expect(evaluation.heldOut.map(\.targetProbabilities) == [[1, 0], [1, 0]])
        // Two held-out rows: resamples {a,a}, {a,b}, {b,b} give IPS 2, 1, 0 → the interval's ends.
        #expect(evaluation.estimates[.ips]?.lo == 0)
        #expect(evaluation.estimates[.ips]?.hi == 2)
        // SNIPS is undefined on {b,b} (¼ of the resamples) and 1 on the others.
        #expect(evaluation.estimates[.snips]?.lo == 1 && evaluation.estimates[.snips]?.hi == 1)
    }

    @Test func theUniformAndLoggingCandidatesMatchTheirHandComputedValues() throws {
        // Uniform over {a, b}: w = ½/½ = 1 for both rows. IPS = SNIPS = ½;
        // DM = (q̂_a + q̂_b)/2 = (2/3 + 1/6)/2 = 5/12;  DR = 5/12 + ((1 − 2/3) + (0 − 1/6))/2 = ½;  ESS = 2.
        let uniform = OffPolicyEvaluation(
            interactions: Self.handRows, dimension: 1, settings: OffPolicySettings(candidate: .uniform))
        #expect(relativeError(try Self.value(uniform, .ips), 0.5) < 1e-15)
        #expect(relativeError(try Self.value(uniform, .snips), 0.5) < 1e-15)
        #expect(relativeError(try Self.value(uniform, .dm), 5.0 / 12) < 1e-15)
        #expect(relativeError(try Self.value(uniform, .dr), 0.5) < 1e-15)
        #expect(uniform.effectiveSampleSize == 2)
        // The logging policy logged ½/½ here: the same values, and its IPS is the observed mean.
        let logging = OffPolicyEvaluation(
            interactions: Self.handRows, dimension: 1, settings: OffPolicySettings(candidate: .logging))
        for estimator in OffPolicyEstimator.allCases {
            #expect(relativeError(try Self.value(logging, estimator), try Self.value(uniform, estimator)) < 1e-15)
        }
        #expect(try Self.value(logging, .ips) == logging.loggingValue)
    }

    @Test func theLoggingPolicyWithoutLoggedProbabilitiesIsItsObservedMean() throws {
        var generator = SplitMix64(seed: 4)
        let rows = (0..<400).map { index in
            Self.row(
                DecisionKey(high: 7, low: UInt64(index)), arm: ["a", "b", "c"][index % 3],
                reward: Double.random(in: -1...1, using: &generator), propensity: [0.2, 0.5, 0.3][index % 3],
                features: [1, Double(index % 5)], candidates: ["a", "b", "c"], probabilities: nil)
        }
        let evaluation = OffPolicyEvaluation(
            interactions: rows, dimension: 2, settings: OffPolicySettings(candidate: .logging, resamples: 50))
        let observed = try #require(evaluation.loggingValue)
        #expect(relativeError(try Self.value(evaluation, .ips), observed) < 1e-14)
        #expect(relativeError(try Self.value(evaluation, .snips), observed) < 1e-14)
        // q̂(x, a) + (r − q̂(x, a)) per row: the observed mean up to rounding.
        #expect(Swift.abs(try Self.value(evaluation, .dr) - observed) < 1e-14)
        #expect(evaluation.effectiveSampleSize == Double(evaluation.count))
        #expect(evaluation.heldOut.allSatisfy { $0.targetProbabilities == nil })
    }

    @Test func theLearnedPolicyNeverSeesTheHeldOutDecisions() throws {
        // Training says a is best; the held-out rows say b. The learned policy still plays a.
        let training = Self.keys(heldOut: false, count: 40)
        let heldOut = Self.keys(heldOut: true, count: 20)
        var rows: [LoggedInteraction] = []
        for (index, key) in training.enumerated() {
            rows.append(Self.row(key, arm: index % 2 == 0 ? "a" : "b", reward: index % 2 == 0 ? 1 : 0))
        }
        for (index, key) in heldOut.enumerated() {
            rows.append(Self.row(key, arm: index % 2 == 0 ? "a" : "b", reward: index % 2 == 0 ? 0 : 1))
        }
        let evaluation = OffPolicyEvaluation(
            interactions: rows, dimension: 1, settings: OffPolicySettings(candidate: .learned))
        #expect(evaluation.heldOut.allSatisfy { $0.targetProbabilities == [1, 0] })
        #expect(try Self.value(evaluation, .ips) == 0)
    }

    @Test func theResultDoesNotDependOnTheOrderOfTheRows() throws {
        var generator = SplitMix64(seed: 8)
        let rows = (0..<300).map { index in
            Self.row(
                DecisionKey(high: generator.next(), low: generator.next()), arm: ["a", "b"][index % 2],
                reward: Double.random(in: 0...1, using: &generator), features: [1, Double(index % 3)])
        }
        let settings = OffPolicySettings(candidate: .learned, resamples: 100)
        let ordered = OffPolicyEvaluation(interactions: rows, dimension: 2, settings: settings)
        let shuffled = OffPolicyEvaluation(
            interactions: rows.shuffled(using: &generator), dimension: 2, settings: settings)
        #expect(ordered.estimates == shuffled.estimates)
        #expect(ordered.heldOut == shuffled.heldOut)
    }

    @Test func perUserStateFollowsEachUsersOwnData() throws {
        // User u1 prefers a, user u2 prefers b; pooled, a wins (u1 has more data) for both.
        let training = Self.keys(heldOut: false, count: 60)
        let heldOut = Self.keys(heldOut: true, count: 4)
        var rows: [LoggedInteraction] = []
        for (index, key) in training.enumerated() {
            let user = index < 40 ? "u1" : "u2"
            let arm = index % 2 == 0 ? "a" : "b"
            let likes = user == "u1" ? "a" : "b"
            rows.append(Self.row(key, arm: arm, reward: arm == likes ? 1 : 0, user: user))
        }
        for (index, key) in heldOut.enumerated() {
            rows.append(Self.row(key, arm: "a", reward: 1, user: index % 2 == 0 ? "u1" : "u2"))
        }
        let pooled = OffPolicyEvaluation(
            interactions: rows, dimension: 1, settings: OffPolicySettings(candidate: .learned, resamples: 10))
        #expect(pooled.heldOut.allSatisfy { $0.targetProbabilities == [1, 0] })
        let perUser = OffPolicyEvaluation(
            interactions: rows, dimension: 1,
            settings: OffPolicySettings(candidate: .learned, resamples: 10, perUserState: true))
        let u2 = perUser.heldOut.enumerated().filter { $0.offset % 2 == 1 }.map(\.element.targetProbabilities)
        #expect(u2.allSatisfy { $0 == [0, 1] })
    }

    @Test func malformedRowsAreCountedAndLeftOut() throws {
        let keys = Self.keys(heldOut: true, count: 5)
        let rows = [
            Self.row(keys[0], arm: "a", reward: 1),
            Self.row(keys[1], arm: "a", reward: 1, features: [1, 2]),  // another dimension
            Self.row(keys[2], arm: "z", reward: 1),  // not among the candidates
            Self.row(keys[3], arm: "a", reward: 1, probabilities: [1]),  // one probability for two candidates
            Self.row(keys[4], arm: "a", reward: .nan),
        ]
        let evaluation = OffPolicyEvaluation(
            interactions: rows, dimension: 1, settings: OffPolicySettings(candidate: .uniform, resamples: 10))
        #expect(evaluation.malformedCount == 4)
        #expect(evaluation.count == 1)
    }

    @Test func noHeldOutDecisionsGiveNoEstimates() {
        let rows = Self.keys(heldOut: false, count: 3).map { Self.row($0, arm: "a", reward: 1) }
        let evaluation = OffPolicyEvaluation(
            interactions: rows, dimension: 1, settings: OffPolicySettings(candidate: .learned))
        #expect(evaluation.count == 0)
        #expect(evaluation.loggingValue == nil)
        #expect(evaluation.effectiveSampleSize == 0)
        for estimator in OffPolicyEstimator.allCases {
            #expect(evaluation.estimates[estimator] == EstimateInterval(value: nil, lo: nil, hi: nil))
        }
    }

    @Test func armIdsThatAreCanonicallyEquivalentStayApart() throws {
        // "é" (U+00E9) and "e" + U+0301 are different arms in PostgreSQL; Swift's == would merge them.
        let composed = "\u{e9}"
        let decomposed = "e\u{301}"
        let training = Self.keys(heldOut: false, count: 20)
        let heldOut = Self.keys(heldOut: true, count: 2)
        var rows = training.enumerated().map { index, key in
            Self.row(
                key, arm: index % 2 == 0 ? composed : decomposed, reward: index % 2 == 0 ? 0 : 1,
                candidates: [composed, decomposed])
        }
        rows += heldOut.map { Self.row($0, arm: composed, reward: 0, candidates: [composed, decomposed]) }
        let evaluation = OffPolicyEvaluation(
            interactions: rows, dimension: 1, settings: OffPolicySettings(candidate: .learned, resamples: 10))
        #expect(evaluation.heldOut.allSatisfy { $0.targetProbabilities == [0, 1] })
        #expect(try Self.value(evaluation, .ips) == 0)
    }
}
