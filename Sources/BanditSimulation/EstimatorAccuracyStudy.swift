import BanditMath

/// How accurate `report ope`'s estimators are, measured on planted worlds where the truth is
/// known: for each seed, the world and log `banditd simulate --seed S --events N` publishes, the
/// evaluation `report ope --source synthetic` runs on it (same split, fit, estimators and
/// bootstrap — ``OffPolicyEvaluation`` on the rows as `decisions` holds them), and the candidate's
/// true value on the held-out contexts from the answer key (``PlantedTruth``). Per estimator:
/// the median relative error |estimate − truth| / |truth| over the seeds and how many of the
/// seeds' 95 % intervals contain the truth.
public struct EstimatorAccuracyStudy: Sendable {
    public struct SeedResult: Sendable {
        public var seed: UInt64
        /// Held-out decisions evaluated.
        public var count: Int
        public var truth: Double
        public var loggingValue: Double?
        public var estimates: [OffPolicyEstimator: EstimateInterval]

        public init(
            seed: UInt64, count: Int, truth: Double, loggingValue: Double?,
            estimates: [OffPolicyEstimator: EstimateInterval]
        ) {
            self.seed = seed
            self.count = count
            self.truth = truth
            self.loggingValue = loggingValue
            self.estimates = estimates
        }

        /// |estimate − truth| / |truth| (infinite where the estimator is undefined).
        public func relativeError(_ estimator: OffPolicyEstimator) -> Double {
            guard let value = estimates[estimator]?.value else { return .infinity }
            return Swift.abs(value - truth) / Swift.abs(truth)
        }

        public func covers(_ estimator: OffPolicyEstimator) -> Bool {
            guard let lo = estimates[estimator]?.lo, let hi = estimates[estimator]?.hi else { return false }
            return lo <= truth && truth <= hi
        }
    }

    public struct Summary: Sendable, Equatable {
        public var estimator: OffPolicyEstimator
        public var medianRelativeError: Double
        public var maximumRelativeError: Double
        public var covering: Int
        public var seeds: Int
        public var medianIntervalWidth: Double?
    }

    public let outcomes: Int
    public let settings: OffPolicySettings
    public let results: [SeedResult]

    public init(seeds: [UInt64], outcomes: Int = SyntheticLog.defaultOutcomes, settings: OffPolicySettings) {
        self.outcomes = outcomes
        self.settings = settings
        self.results = seeds.map { Self.evaluate(seed: $0, outcomes: outcomes, settings: settings) }
    }

    /// One seed: the log `simulate --seed seed --events outcomes` publishes, evaluated.
    public static func evaluate(seed: UInt64, outcomes: Int, settings: OffPolicySettings) -> SeedResult {
        let log = SyntheticLog(world: SyntheticWorld(seed: seed), count: outcomes)
        let evaluation = OffPolicyEvaluation(
            interactions: log.interactions, dimension: SyntheticWorld.dimension, settings: settings)
        let truth = PlantedTruth(key: AnswerKey(log: log)).value(of: evaluation.heldOut) ?? .nan
        return SeedResult(
            seed: seed, count: evaluation.count, truth: truth, loggingValue: evaluation.loggingValue,
            estimates: evaluation.estimates)
    }

    public var summary: [Summary] {
        OffPolicyEstimator.allCases.map { estimator in
            let errors = results.map { $0.relativeError(estimator) }
            let widths = results.compactMap { result -> Double? in
                guard let lo = result.estimates[estimator]?.lo, let hi = result.estimates[estimator]?.hi else {
                    return nil
                }
                return hi - lo
            }
            return Summary(
                estimator: estimator, medianRelativeError: Self.median(errors),
                maximumRelativeError: errors.max() ?? .nan, covering: results.filter { $0.covers(estimator) }.count,
                seeds: results.count, medianIntervalWidth: widths.isEmpty ? nil : Self.median(widths))
        }
    }

    /// A Markdown table of ``summary``.
    public var table: String {
        func percent(_ value: Double) -> String {
            guard value.isFinite else { return "—" }
            let tenths = (value * 1000).rounded()
            return "\(Int(tenths) / 10).\(Int(tenths) % 10) %"
        }
        func fixed(_ value: Double?) -> String {
            guard let value, value.isFinite else { return "—" }
            let scaled = Int((value * 1000).rounded())
            let digits = String(scaled % 1000)
            return "\(scaled / 1000).\(String(repeating: "0", count: 3 - digits.count))\(digits)"
        }
        var lines = [
            "| estimator | median relative error | worst relative error | 95 % interval covers the truth | median interval width |",
            "|---|---|---|---|---|",
        ]
        for row in summary {
            lines.append(
                "| \(row.estimator.rawValue) | \(percent(row.medianRelativeError)) | \(percent(row.maximumRelativeError)) "
                    + "| \(row.covering) of \(row.seeds) | \(fixed(row.medianIntervalWidth)) |")
        }
        return lines.joined(separator: "\n")
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
