import Foundation

/// Order-independent forgetting (CONTRACT section 8). An update made for an event at time t
/// counts with weight 2^(−(τ − t)/h) when the state is read at τ. Stored sums are kept relative
/// to a reference time T of the row: an update enters with weight 2^((t − T)/h), and reading at
/// τ multiplies the stored a and b by 2^((T − τ)/h). Because a weight depends on the event time
/// only, updates commute: any order, any number of daemons, the same effective state (up to
/// rounding).
///
/// T is moved forward (the sums scaled down) when an update would enter with a weight above
/// 2^`rebaseExponent`, so nothing overflows however far event times spread; old contributions
/// that fall below the smallest double relative to the rest are gone, as they should be.
public struct Forgetting: Sendable, Equatable {
    /// Exponents (in half-lives) above which the reference time moves up.
    public static let rebaseExponent = 64.0

    /// h, in seconds.
    public let halfLife: Double

    public init(halfLife: Double) {
        precondition(halfLife > 0 && halfLife.isFinite, "half-life must be positive")
        self.halfLife = halfLife
    }

    /// The weight of an update at `time` in sums referenced at `reference` (seconds since any
    /// common epoch).
    public func weight(at time: Double, reference: Double) -> Double {
        exp2((time - reference) / halfLife)
    }

    /// The factor that turns sums referenced at `reference` into sums read at `readAt`.
    public func readFactor(reference: Double, readAt: Double) -> Double {
        exp2((reference - readAt) / halfLife)
    }
}

/// One update of a state row, with the event time that weighs it.
public struct TimedUpdate: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A reward observed (joined, inline, routed, or a default closing): n + 1.
        case observation
        /// A late reward correcting a default closing: b += w · delta · x, reward_sum += delta.
        case correction
    }

    public var features: [Double]
    /// The reward, or for a correction the difference r − default.
    public var reward: Double
    /// Event time, seconds since the Unix epoch.
    public var time: Double
    public var kind: Kind

    public init(features: [Double], reward: Double, time: Double, kind: Kind = .observation) {
        self.features = features
        self.reward = reward
        self.time = time
        self.kind = kind
    }
}

/// A row's stored sums with what forgetting needs: its reference time and the half-life the
/// sums were kept with (both nil: no forgetting).
public struct ForgettingState: Sendable, Equatable {
    public var statistics: ArmStatistics
    public var reference: Double?
    public var halfLife: Double?

    public init(statistics: ArmStatistics, reference: Double? = nil, halfLife: Double? = nil) {
        self.statistics = statistics
        self.reference = reference
        self.halfLife = halfLife
    }

    /// No update has been folded in yet.
    var isEmpty: Bool {
        statistics.n == 0 && statistics.a.allSatisfy { $0 == 0 } && statistics.b.allSatisfy { $0 == 0 }
    }

    /// The effective sums at `readAt`: a and b scaled by 2^((T − τ)/h). Without forgetting the
    /// stored sums themselves.
    public func effective(at readAt: Double) -> ArmStatistics {
        guard let halfLife, let reference else { return statistics }
        var effective = statistics
        effective.scaleWeightedSums(by: Forgetting(halfLife: halfLife).readFactor(reference: reference, readAt: readAt))
        return effective
    }

    /// Folds `updates` into the row under the policy's current `halfLife` (nil: none). A row kept
    /// with another half-life (or none) is first turned into its effective sums at `now` and
    /// continues from there: a changed half-life applies from the first update after the change.
    public mutating func apply(_ updates: [TimedUpdate], halfLife policyHalfLife: Double?, now: Double) {
        if self.halfLife != policyHalfLife {
            if isEmpty {
                // Nothing to convert: the first update sets the reference time.
                reference = nil
            } else {
                statistics = effective(at: now)
                reference = policyHalfLife == nil ? nil : now
            }
            halfLife = policyHalfLife
        }
        guard let policyHalfLife else {
            for update in updates {
                switch update.kind {
                case .observation: statistics.add(features: update.features, reward: update.reward)
                case .correction: statistics.correct(features: update.features, by: update.reward)
                }
            }
            return
        }
        guard let latest = updates.map(\.time).max() else { return }
        let forgetting = Forgetting(halfLife: policyHalfLife)
        var reference = self.reference ?? latest
        if (latest - reference) / policyHalfLife > Forgetting.rebaseExponent {
            statistics.scaleWeightedSums(by: forgetting.weight(at: reference, reference: latest))
            reference = latest
        }
        self.reference = reference
        for update in updates {
            let weight = forgetting.weight(at: update.time, reference: reference)
            switch update.kind {
            case .observation: statistics.add(features: update.features, reward: update.reward, weight: weight)
            case .correction: statistics.correct(features: update.features, by: update.reward, weight: weight)
            }
        }
    }
}
