import BanditCore
import Foundation

/// One member of a `policies` entry, declared once like `Setting`: name, whether required, kind
/// with its range, default, help, and where it lands in `PolicyDefinition`. The loader, its error
/// messages and config/README.md's policy table come from `PolicySetting.all`.
///
/// `PolicyRegistry` checks the same ranges again for registries built in code; a test keeps the
/// two in step.
public struct PolicySetting: Sendable {
    public let name: String
    public let isRequired: Bool
    public let type: String
    /// `required`, or the default as the reference table states it.
    public let defaultText: String
    public let help: String
    let apply: @Sendable (JSONTree, inout PolicyDefinition) throws(ValueError) -> Void

    init<Value: Sendable>(
        _ name: String, _ kind: SettingKind<Value>, default value: Value?,
        at keyPath: WritableKeyPath<PolicyDefinition, Value> & Sendable,
        help: String
    ) {
        self.name = name
        self.isRequired = value == nil
        self.type = kind.description
        self.defaultText = value.map(kind.format) ?? "required"
        self.help = help
        apply = { (json, definition) throws(ValueError) in definition[keyPath: keyPath] = try kind.fromJSON(json) }
    }

    public static let all: [PolicySetting] = [
        PolicySetting(
            "name", .policyName, default: nil, at: \.name, help: "unique; events name the policy by it"),
        PolicySetting(
            "algorithm", .choice(PolicyAlgorithm.self), default: nil, at: \.algorithm, help: "learning algorithm"),
        PolicySetting(
            "dimension", .integer(1...PolicyRegistry.maxDimension), default: nil, at: \.dimension,
            help: "feature vector length"),
        PolicySetting(
            "lambda", .number(above: 0), default: PolicyDefinition.defaultLambda, at: \.lambda,
            help: "ridge regularisation λ, added as λI when solving"),
        PolicySetting(
            "alpha", .optionalNumber(atLeast: 0, defaultText: "\(PolicyDefinition.defaultAlpha) (linucb only)"),
            default: .some(nil), at: \.alpha, help: "LinUCB exploration width; only for `linucb`"),
        PolicySetting(
            "epsilon",
            .optionalNumber(atLeast: 0, atMost: 1, defaultText: "\(PolicyDefinition.defaultEpsilon) (egreedy only)"),
            default: .some(nil), at: \.epsilon, help: "ε-greedy exploration rate; only for `egreedy`"),
        PolicySetting(
            "version", .semanticVersion, default: nil, at: \.version,
            help: "semantic version (semver 2.0.0), e.g. `1.0.0`"),
        PolicySetting(
            "reward_wait_s", .optionalInteger(0...315_360_000, zeroMeansNone: true, noneText: "none (no window)"),
            default: .some(nil), at: \.rewardWaitSeconds,
            help:
                "reward wait window in seconds; `0` or absent: no window. A decision with no reward this long after its `occurred_at` (database clock) is closed with `default_reward` (CONTRACT §8). The shipped file sets 600"
        ),
        PolicySetting(
            "default_reward", .number(in: -1...1), default: 0, at: \.defaultReward,
            help: "the reward a decision is closed with; the value used is stored on the decision row"),
        PolicySetting(
            "half_life_s", .optionalNumber(atLeast: 1, atMost: 3.2e9, defaultText: "none (no forgetting)"),
            default: .some(nil), at: \.halfLifeSeconds,
            help:
                "forgetting: an update for an event at time t counts 2^(−(τ − t)/h) when read at τ; seconds. A changed half-life applies to each state row from its first update after the change"
        ),
    ]
}

extension SettingKind where Value == Double {
    /// A finite number `> low` (and `≤ high`).
    static func number(above low: Double) -> SettingKind {
        SettingKind(
            description: "number > \(SettingKind.short(low))", isSecret: false,
            fromJSON: { (json) throws(ValueError) in
                guard case .number(let value, _, let text) = json, value.isFinite else {
                    throw ValueError(
                        message: "must be a finite number > \(SettingKind.short(low)) (got \(json.describedForError))")
                }
                guard value > low else {
                    throw ValueError(message: "must be a finite number > \(SettingKind.short(low)) (got \(text))")
                }
                return value
            },
            fromText: { (text) throws(ValueError) in
                guard let value = Double(text), value.isFinite, value > low else {
                    throw ValueError(message: "must be a finite number > \(SettingKind.short(low)) (got \"\(text)\")")
                }
                return value
            },
            format: { SettingKind.short($0) })
    }
}

extension SettingKind where Value == Double {
    /// A finite number in `range`.
    static func number(in range: ClosedRange<Double>) -> SettingKind {
        let text = "in [\(SettingKind.short(range.lowerBound)), \(SettingKind.short(range.upperBound))]"
        return SettingKind(
            description: "number \(text)", isSecret: false,
            fromJSON: { (json) throws(ValueError) in
                guard case .number(let value, _, _) = json, value.isFinite, range.contains(value) else {
                    throw ValueError(message: "must be a finite number \(text) (got \(json.describedForError))")
                }
                return value
            },
            fromText: { (input) throws(ValueError) in
                guard let value = Double(input), value.isFinite, range.contains(value) else {
                    throw ValueError(message: "must be a finite number \(text) (got \"\(input)\")")
                }
                return value
            },
            format: { SettingKind.short($0) })
    }
}

extension SettingKind where Value == Int? {
    /// An optional JSON integer in `range`; with `zeroMeansNone`, 0 is the same as absent.
    static func optionalInteger(_ range: ClosedRange<Int>, zeroMeansNone: Bool, noneText: String) -> SettingKind {
        let plain = SettingKind<Int>.integer(range)
        return SettingKind(
            description: plain.description + (zeroMeansNone ? " (`0`: none)" : ""), isSecret: false,
            fromJSON: { (json) throws(ValueError) in
                let value = try plain.fromJSON(json)
                return zeroMeansNone && value == 0 ? nil : value
            },
            fromText: { (text) throws(ValueError) in
                let value = try plain.fromText(text)
                return zeroMeansNone && value == 0 ? nil : value
            },
            format: { $0.map(String.init) ?? noneText })
    }
}

extension SettingKind where Value == Double? {
    /// An optional finite number in `low…high`; the README states `defaultText`.
    static func optionalNumber(atLeast low: Double, atMost high: Double? = nil, defaultText: String) -> SettingKind {
        let range =
            high.map { "in \(SettingKind.short(low))…\(SettingKind.short($0))" } ?? "≥ \(SettingKind.short(low))"
        return SettingKind(
            description: "number \(range)", isSecret: false,
            fromJSON: { (json) throws(ValueError) in
                guard case .number(let value, _, let text) = json, value.isFinite else {
                    throw ValueError(message: "must be a finite number \(range) (got \(json.describedForError))")
                }
                guard value >= low, high.map({ value <= $0 }) ?? true else {
                    throw ValueError(message: "must be a finite number \(range) (got \(text))")
                }
                return value
            },
            fromText: { (text) throws(ValueError) in
                guard let value = Double(text), value.isFinite, value >= low, high.map({ value <= $0 }) ?? true else {
                    throw ValueError(message: "must be a finite number \(range) (got \"\(text)\")")
                }
                return value
            },
            format: { $0.map { SettingKind.short($0) } ?? defaultText })
    }
}

extension SettingKind where Value == String {
    /// 1…64 characters of `[A-Za-z0-9._-]`.
    static var policyName: SettingKind {
        let plain = SettingKind.text()
        return SettingKind(
            description: "1–64 characters of `[A-Za-z0-9._-]`", isSecret: false,
            fromJSON: { (json) throws(ValueError) in
                let text = try plain.fromJSON(json)
                guard (1...64).contains(text.unicodeScalars.count), text.unicodeScalars.allSatisfy(isNameScalar) else {
                    throw ValueError(
                        message: "must be 1–64 characters of [A-Za-z0-9._-] (got \(json.describedForError))")
                }
                return text
            },
            fromText: { (text) throws(ValueError) in text },
            format: { $0 })
    }

    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": true
        default: false
        }
    }

    /// Semantic Versioning 2.0.0.
    static var semanticVersion: SettingKind {
        let plain = SettingKind.text()
        return SettingKind(
            description: "semantic version", isSecret: false,
            fromJSON: { (json) throws(ValueError) in
                let text = try plain.fromJSON(json)
                guard PolicyDefinition.isSemanticVersion(text) else {
                    throw ValueError(message: "must be a semantic version like 1.0.0 (got \(json.describedForError))")
                }
                return text
            },
            fromText: { (text) throws(ValueError) in text },
            format: { $0 })
    }
}

extension SettingKind {
    /// `1`, `0.1`.
    static func short(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    }
}
