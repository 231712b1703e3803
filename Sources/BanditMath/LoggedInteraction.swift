/// A rewarded logged decision with its candidates, as `report ope` reads it from `decisions`.
public struct LoggedInteraction: Sendable, Equatable {
    public var key: DecisionKey
    public var userID: String
    /// The arm the logging policy played.
    public var armID: String
    public var features: [Double]
    /// μ(armID | x), the logged propensity.
    public var propensity: Double
    /// The arms that were offered (they contain `armID`).
    public var candidates: [String]
    /// The logging policy's distribution over `candidates`, when it was logged.
    public var probabilities: [Double]?
    public var reward: Double

    public init(
        key: DecisionKey, userID: String, armID: String, features: [Double], propensity: Double,
        candidates: [String], probabilities: [Double]?, reward: Double
    ) {
        self.key = key
        self.userID = userID
        self.armID = armID
        self.features = features
        self.propensity = propensity
        self.candidates = candidates
        self.probabilities = probabilities
        self.reward = reward
    }

    /// True when the row can be evaluated under a policy of `dimension`: finite features of that
    /// length, a finite reward, 0 < propensity ≤ 1, candidates that contain the logged arm, and
    /// probabilities (if any) one per candidate, each finite in [0, 1]. The decoder enforces all
    /// of this for new events; a row can still fail it when the policy's dimension changed.
    public func isWellFormed(dimension: Int) -> Bool {
        features.count == dimension && features.allSatisfy(\.isFinite) && reward.isFinite && propensity > 0
            && propensity <= 1 && candidates.contains { ArmIdentity.same($0, armID) }
            && (probabilities.map { $0.count == candidates.count && $0.allSatisfy { $0 >= 0 && $0 <= 1 } } ?? true)
    }
}

/// Arm ids compare by their UTF-8 bytes, as PostgreSQL compares them: Swift's `String ==` is
/// canonical equivalence and would merge ids the database keeps apart ("é" and "e\u{301}").
enum ArmIdentity {
    static func same(_ lhs: String, _ rhs: String) -> Bool { lhs.utf8.elementsEqual(rhs.utf8) }

    /// A dictionary key for an arm (optionally of one user) that never merges distinct ids.
    struct Key: Hashable {
        let user: [UInt8]
        let arm: [UInt8]

        init(arm: String, user: String? = nil) {
            self.arm = Array(arm.utf8)
            self.user = user.map { Array($0.utf8) } ?? []
        }
    }
}
