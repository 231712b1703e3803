/// The configured policies, validated, looked up by name.
public struct PolicyRegistry: Sendable {
    /// The validated policies in configuration order, with `alpha` / `epsilon` defaults filled.
    public let policies: [PolicyDefinition]
    /// UTF-8 of each name, for allocation-free lookup from message bytes.
    private let nameBytes: [[UInt8]]

    /// Validates every field and fills defaults: a `linucb` policy without `alpha` gets
    /// `PolicyDefinition.defaultAlpha`, an `egreedy` policy without `epsilon` gets
    /// `PolicyDefinition.defaultEpsilon`. Giving the other algorithm's parameter is an error.
    public init(_ policies: [PolicyDefinition]) throws(PolicyConfigurationError) {
        var validated: [PolicyDefinition] = []
        validated.reserveCapacity(policies.count)
        var seen: [String: Int] = [:]
        for (index, original) in policies.enumerated() {
            var policy = original
            func fail(_ field: String, _ message: String) -> PolicyConfigurationError {
                PolicyConfigurationError(key: "policies[\(index)].\(field)", message: message)
            }
            let nameScalars = policy.name.unicodeScalars
            guard (1...64).contains(nameScalars.count), nameScalars.allSatisfy(PolicyRegistry.isNameScalar) else {
                throw fail("name", "expected 1…64 characters of [A-Za-z0-9._-], got \(quoted(policy.name))")
            }
            if let first = seen[policy.name] {
                throw fail("name", "duplicate policy name \(quoted(policy.name)) (also policies[\(first)])")
            }
            seen[policy.name] = index
            guard (1...64).contains(policy.dimension) else {
                throw fail("dimension", "expected an integer 1…64, got \(policy.dimension)")
            }
            guard policy.lambda.isFinite, policy.lambda > 0 else {
                throw fail("lambda", "expected a finite number > 0, got \(policy.lambda)")
            }
            switch policy.algorithm {
            case .linucb:
                if policy.epsilon != nil { throw fail("epsilon", "applies to egreedy policies only") }
                let alpha = policy.alpha ?? PolicyDefinition.defaultAlpha
                guard alpha.isFinite, alpha >= 0 else {
                    throw fail("alpha", "expected a finite number ≥ 0, got \(alpha)")
                }
                policy.alpha = alpha
            case .egreedy:
                if policy.alpha != nil { throw fail("alpha", "applies to linucb policies only") }
                let epsilon = policy.epsilon ?? PolicyDefinition.defaultEpsilon
                guard epsilon >= 0, epsilon <= 1 else {
                    throw fail("epsilon", "expected a number in [0, 1], got \(epsilon)")
                }
                policy.epsilon = epsilon
            }
            if let wait = policy.rewardWaitSeconds {
                // At most ten years: the closing arithmetic and the database interval stay exact.
                guard (1...315_360_000).contains(wait) else {
                    throw fail(
                        "reward_wait_s", "expected an integer 1…315360000 seconds (0 or absent: no window), got \(wait)"
                    )
                }
            }
            guard policy.defaultReward.isFinite, (-1...1).contains(policy.defaultReward) else {
                throw fail("default_reward", "expected a finite number in [-1, 1], got \(policy.defaultReward)")
            }
            if let halfLife = policy.halfLifeSeconds {
                guard halfLife.isFinite, halfLife >= 1, halfLife <= 3.2e9 else {
                    throw fail(
                        "half_life_s", "expected a number of seconds 1…3.2e9 (absent: no forgetting), got \(halfLife)")
                }
            }
            guard SemanticVersion.isValid(policy.version) else {
                throw fail("version", "expected a semantic version like 1.0.0, got \(quoted(policy.version))")
            }
            validated.append(policy)
        }
        self.policies = validated
        self.nameBytes = validated.map { Array($0.name.utf8) }
    }

    /// CONTRACT section 5's shipped defaults: `linucb_v1` (d=5), `egreedy_v1` (d=7),
    /// `egreedy_v2` (d=12), `routing_v1` (linucb, d=8); λ 1, α 1.0, ε 0.1, version 1.0.0; and
    /// section 8's shipped reward loop: a 600 s reward wait with default reward 0, no forgetting.
    public static let defaults: PolicyRegistry = try! PolicyRegistry([
        PolicyDefinition(name: "linucb_v1", algorithm: .linucb, dimension: 5, alpha: 1.0, rewardWaitSeconds: 600),
        PolicyDefinition(name: "egreedy_v1", algorithm: .egreedy, dimension: 7, epsilon: 0.1, rewardWaitSeconds: 600),
        PolicyDefinition(name: "egreedy_v2", algorithm: .egreedy, dimension: 12, epsilon: 0.1, rewardWaitSeconds: 600),
        PolicyDefinition(name: "routing_v1", algorithm: .linucb, dimension: 8, alpha: 1.0, rewardWaitSeconds: 600),
    ])

    public subscript(name: String) -> PolicyDefinition? {
        policies.first { $0.name == name }
    }

    /// Index of the policy whose name is exactly these UTF-8 bytes.
    func index(ofName bytes: UnsafeRawBufferPointer) -> Int? {
        for (index, name) in nameBytes.enumerated() where name.count == bytes.count {
            let equal = name.withUnsafeBytes { $0.elementsEqual(bytes) }
            if equal { return index }
        }
        return nil
    }

    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": return true
        default: return false
        }
    }
}

/// `"text"` cut to 40 characters, for error messages.
func quoted(_ text: String) -> String {
    text.count > 40 ? "\"\(text.prefix(40))…\"" : "\"\(text)\""
}
