/// The learning algorithm of a policy.
public enum PolicyAlgorithm: String, Sendable, Codable, CaseIterable {
    case linucb
    case egreedy
}

/// One configured policy (CONTRACT section 5).
///
/// Decoding from configuration (`Codable`) fills the documented defaults for absent keys:
/// `lambda` 1, and `alpha` / `epsilon` are left `nil` for `PolicyRegistry` to default.
/// Nothing here is validated until the definition goes into a `PolicyRegistry`.
public struct PolicyDefinition: Sendable, Equatable, Codable {
    /// Default ridge regularisation.
    public static let defaultLambda = 1.0
    /// Default LinUCB exploration width, used when a `linucb` policy gives no `alpha`.
    public static let defaultAlpha = 1.0
    /// Default ε-greedy exploration rate, used when an `egreedy` policy gives no `epsilon`.
    public static let defaultEpsilon = 0.1
    /// Default version of the shipped policies.
    public static let defaultVersion = "1.0.0"

    /// 1…64 characters of `[A-Za-z0-9._-]`, unique in a registry.
    public var name: String
    public var algorithm: PolicyAlgorithm
    /// Length of the feature vector, 1…64.
    public var dimension: Int
    /// Ridge regularisation λ > 0; added as λI only when solving.
    public var lambda: Double
    /// LinUCB exploration width α ≥ 0 (linucb only).
    public var alpha: Double?
    /// ε-greedy exploration rate 0 ≤ ε ≤ 1 (egreedy only).
    public var epsilon: Double?
    /// Semantic version (semver 2.0.0), e.g. `1.0.0`.
    public var version: String
    /// Reward wait window in seconds (CONTRACT section 8): a decision without a reward this long
    /// after its `occurred_at` is closed with `defaultReward`. nil (or 0 in configuration): no
    /// window.
    public var rewardWaitSeconds: Int?
    /// The reward a decision is closed with when its window passes; finite, in [-1, 1].
    public var defaultReward: Double
    /// Forgetting: an update made for an event at time t counts with weight 2^(−(τ − t)/h) when
    /// the state is read at τ. nil: no forgetting.
    public var halfLifeSeconds: Double?

    public init(
        name: String,
        algorithm: PolicyAlgorithm,
        dimension: Int,
        lambda: Double = PolicyDefinition.defaultLambda,
        alpha: Double? = nil,
        epsilon: Double? = nil,
        version: String = PolicyDefinition.defaultVersion,
        rewardWaitSeconds: Int? = nil,
        defaultReward: Double = 0,
        halfLifeSeconds: Double? = nil
    ) {
        self.name = name
        self.algorithm = algorithm
        self.dimension = dimension
        self.lambda = lambda
        self.alpha = alpha
        self.epsilon = epsilon
        self.version = version
        self.rewardWaitSeconds = rewardWaitSeconds
        self.defaultReward = defaultReward
        self.halfLifeSeconds = halfLifeSeconds
    }

    private enum CodingKeys: String, CodingKey {
        case name, algorithm, dimension, lambda, alpha, epsilon, version
        case rewardWaitSeconds = "reward_wait_s"
        case defaultReward = "default_reward"
        case halfLifeSeconds = "half_life_s"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        algorithm = try container.decode(PolicyAlgorithm.self, forKey: .algorithm)
        dimension = try container.decode(Int.self, forKey: .dimension)
        lambda = try container.decodeIfPresent(Double.self, forKey: .lambda) ?? PolicyDefinition.defaultLambda
        alpha = try container.decodeIfPresent(Double.self, forKey: .alpha)
        epsilon = try container.decodeIfPresent(Double.self, forKey: .epsilon)
        version = try container.decodeIfPresent(String.self, forKey: .version) ?? PolicyDefinition.defaultVersion
        // 0 means "no window", like absent.
        let wait = try container.decodeIfPresent(Int.self, forKey: .rewardWaitSeconds)
        rewardWaitSeconds = wait == 0 ? nil : wait
        defaultReward = try container.decodeIfPresent(Double.self, forKey: .defaultReward) ?? 0
        halfLifeSeconds = try container.decodeIfPresent(Double.self, forKey: .halfLifeSeconds)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(algorithm, forKey: .algorithm)
        try container.encode(dimension, forKey: .dimension)
        try container.encode(lambda, forKey: .lambda)
        try container.encodeIfPresent(alpha, forKey: .alpha)
        try container.encodeIfPresent(epsilon, forKey: .epsilon)
        try container.encode(version, forKey: .version)
        try container.encodeIfPresent(rewardWaitSeconds, forKey: .rewardWaitSeconds)
        try container.encode(defaultReward, forKey: .defaultReward)
        try container.encodeIfPresent(halfLifeSeconds, forKey: .halfLifeSeconds)
    }
}
