import Foundation

/// How one member's value is checked. A rule is written once and read three ways: by the
/// events' `init(from:)` (whatever the `Decoder`), by the memberwise initialisers (through the
/// same decoding), and by the JSON Schema export (`schema`).
protocol ValueRule: Sendable {
    /// The `expected …` part of a rejection detail.
    var expected: String { get }
    /// The member's JSON Schema (draft 2020-12).
    var schema: SchemaJSON { get }
}

/// A rule that reads one member on its own (no other member's value is needed).
protocol MemberRule: ValueRule {
    associatedtype Value
    func decode(_ fields: EventFields, _ field: Field) throws -> Value
}

/// Whether a member must be present. Conditional presence (the reward's two forms, routing's
/// policy + features) is checked by the event type and exported as schema constraints.
enum Presence: Sendable {
    case required
    case optional
}

/// One member of a payload: name, rule, presence.
struct Member<Rule: ValueRule>: Sendable {
    let field: Field
    let rule: Rule
    let presence: Presence

    init(_ field: Field, _ rule: Rule, _ presence: Presence) {
        self.field = field
        self.rule = rule
        self.presence = presence
    }

    var description: MemberDescription {
        MemberDescription(field: field, schema: rule.schema, presence: presence)
    }
}

/// A member as the schema export sees it.
struct MemberDescription: Sendable {
    let field: Field
    let schema: SchemaJSON
    let presence: Presence
}

// MARK: Scalars

/// A JSON integer (integer syntax: `1.0` and `1e0` are not integers) in `range`.
struct IntegerRule: MemberRule {
    let range: ClosedRange<Int>

    var expected: String {
        range.lowerBound == range.upperBound
            ? "the integer \(range.lowerBound)" : "an integer \(range.lowerBound)…\(range.upperBound)"
    }

    var schema: SchemaJSON {
        if range.lowerBound == range.upperBound {
            return .object([("type", "integer"), ("const", .integer(range.lowerBound))])
        }
        return .object([
            ("type", "integer"), ("minimum", .integer(range.lowerBound)), ("maximum", .integer(range.upperBound)),
        ])
    }

    func decode(_ fields: EventFields, _ field: Field) throws -> Int {
        let value = try fields.integer(field, expected: expected)
        guard range.contains(value) else { throw fields.mismatch(field, expected, value: "\(value)") }
        return value
    }
}

/// A finite number within bounds. Plain values only (no strings stored), so reading a member
/// copies no reference: the rules sit on the path of every message.
struct NumberRule: MemberRule {
    let minimum: Double?
    let minimumIsExclusive: Bool
    let maximum: Double?
    /// Stated as a bound on |x| (`features`).
    let isMagnitude: Bool

    init(minimum: Double? = nil, exclusive: Bool = false, maximum: Double? = nil) {
        self.minimum = minimum
        self.minimumIsExclusive = exclusive
        self.maximum = maximum
        self.isMagnitude = false
    }

    /// |x| ≤ `magnitude`.
    init(magnitudeAtMost magnitude: Double) {
        minimum = -magnitude
        minimumIsExclusive = false
        maximum = magnitude
        isMagnitude = true
    }

    /// `a number in (0, 1]`, `a number ≥ 0`, `a finite number with |x| ≤ 1e6`.
    var expected: String {
        switch (minimum, maximum) {
        case (_, let high?) where isMagnitude:
            return "a finite number with |x| ≤ \(NumberRule.short(high))"
        case (let low?, let high?):
            return "a number in \(minimumIsExclusive ? "(" : "[")\(NumberRule.short(low)), \(NumberRule.short(high))]"
        case (let low?, nil):
            return "a number \(minimumIsExclusive ? ">" : "≥") \(NumberRule.short(low))"
        case (nil, let high?):
            return "a number ≤ \(NumberRule.short(high))"
        case (nil, nil):
            return "a finite number"
        }
    }

    /// `1`, `-1`, `0.5`, `1e6`.
    static func short(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e5 { return String(Int(value)) }
        if value == value.rounded(), abs(value) >= 1e5 {
            let exponent = Int(log10(abs(value)).rounded())
            if pow(10, Double(exponent)) == abs(value) { return (value < 0 ? "-" : "") + "1e\(exponent)" }
        }
        return "\(value)"
    }

    @inline(__always)
    func accepts(_ value: Double) -> Bool {
        if let minimum, minimumIsExclusive ? !(value > minimum) : !(value >= minimum) { return false }
        if let maximum, !(value <= maximum) { return false }
        return value.isFinite
    }

    var schema: SchemaJSON {
        var members: [(String, SchemaJSON)] = [("type", "number")]
        if let minimum { members.append((minimumIsExclusive ? "exclusiveMinimum" : "minimum", .number(minimum))) }
        // Finite: without an upper bound, the largest double (a validator then rejects 1e400).
        members.append(("maximum", .number(maximum ?? Double.greatestFiniteMagnitude)))
        return .object(members)
    }

    func decode(_ fields: EventFields, _ field: Field) throws -> Double {
        let value = try fields.double(field, expected: expected)
        guard accepts(value) else { throw fields.mismatch(field, expected, value: "\(value)") }
        return value
    }

    /// The next element of an array, at `path` (`features[3]`).
    func decodeElement(
        _ fields: EventFields, _ elements: inout EventElements, path: @autoclosure () -> String
    ) throws -> Double {
        let value = try fields.double(&elements, path: path(), expected: expected)
        guard accepts(value) else { throw fields.mismatch(elements, path: path(), expected, value: "\(value)") }
        return value
    }
}

/// A string of 1…`maxCharacters` Unicode scalars without U+0000 (PostgreSQL text cannot hold it).
struct TextRule: MemberRule {
    let maxCharacters: Int

    var expected: String { "a string of 1–\(maxCharacters) characters" }

    var schema: SchemaJSON {
        .object([
            ("type", "string"), ("minLength", 1), ("maxLength", .integer(maxCharacters)),
            ("pattern", .string(#"^[^\u0000]*$"#)),
        ])
    }

    func decode(_ fields: EventFields, _ field: Field) throws -> String {
        try check(try fields.string(field, expected: expected), path: field.name)
    }

    func decodeElement(
        _ fields: EventFields, _ elements: inout EventElements, path: @autoclosure () -> String
    ) throws -> String {
        try check(try fields.string(&elements, path: path(), expected: expected), path: path())
    }

    /// Unicode scalars, and whether one is U+0000.
    private static func count(_ content: some Collection<UInt8>) -> (Int, Bool) {
        var scalars = 0
        var hasNull = false
        for byte in content {
            if byte & 0xC0 != 0x80 { scalars += 1 }
            if byte == 0 { hasNull = true }
        }
        return (scalars, hasNull)
    }

    private func check(_ value: String, path: @autoclosure () -> String) throws(Rejection) -> String {
        let (scalars, hasNull) =
            value.utf8.withContiguousStorageIfAvailable(TextRule.count) ?? TextRule.count(Array(value.utf8))
        guard scalars >= 1, scalars <= maxCharacters else {
            throw Rejection(
                reason: .schemaInvalid, detail: "\(path()): expected \(expected), got \(scalars) characters")
        }
        guard !hasNull else {
            throw Rejection(reason: .schemaInvalid, detail: "\(path()): expected no U+0000 character, got one")
        }
        return value
    }
}

/// A fixed text form: how it reads, its check over UTF-8 bytes, and its regular expression.
protocol TextFormat: Sendable {
    associatedtype Value
    static var expected: String { get }
    /// The same form as an ECMA-262 regular expression for the schema. It ends in `$(?!\n)`:
    /// `$` alone also matches before a final newline in some engines (Python's `re`).
    static var pattern: String { get }
    /// The JSON Schema `format` annotation, if one names the form.
    static var format: String? { get }
    static func parse(_ content: UnsafeRawBufferPointer) -> Value?
}

/// A string of a fixed form, checked over its UTF-8 bytes and exported as `pattern`.
struct FormatRule<Format: TextFormat>: MemberRule {
    var expected: String { Format.expected }

    var schema: SchemaJSON {
        var members: [(String, SchemaJSON)] = [("type", "string"), ("pattern", .string(Format.pattern))]
        if let format = Format.format { members.append(("format", .string(format))) }
        return .object(members)
    }

    func decode(_ fields: EventFields, _ field: Field) throws -> Format.Value {
        try fields.string(field, expected: expected, Format.parse)
    }
}

/// One of an enum's raw values, exactly.
struct ChoiceRule<Choice: ByteMatchable>: MemberRule {
    var expected: String { "one of " + Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") }

    var schema: SchemaJSON {
        .object([("type", "string"), ("enum", .array(Choice.allCases.map { .string($0.rawValue) }))])
    }

    func decode(_ fields: EventFields, _ field: Field) throws -> Choice {
        try fields.string(field, expected: expected, Choice.match)
    }
}

/// `true` or `false`.
struct BooleanRule: MemberRule {
    var expected: String { "true or false" }
    var schema: SchemaJSON { .object([("type", "boolean")]) }

    func decode(_ fields: EventFields, _ field: Field) throws -> Bool {
        try fields.bool(field, expected: expected)
    }
}

// MARK: Policies

/// The name of a configured policy (`policy.unknown` otherwise).
struct PolicyRule: MemberRule {
    var expected: String { "the name of a configured policy" }

    var schema: SchemaJSON {
        .object([
            ("type", "string"), ("pattern", .string("^[A-Za-z0-9._-]{1,64}$(?!\\n)")),
            ("description", "The name of a policy configured in the receiving daemon (policy.unknown otherwise)."),
        ])
    }

    func decode(_ fields: EventFields, _ field: Field) throws -> PolicyReference {
        try fields.withPolicies { policies in
            let index: Int? = try fields.string(field, expected: expected) { .some(policies.index(ofName: $0)) }
            guard let index else {
                let names = policies.policies.map { "\"\($0.name)\"" }.joined(separator: ", ")
                throw fields.mismatch(
                    field, "a configured policy (\(names))", value: "another name", reason: .policyUnknown)
            }
            return PolicyReference(name: policies.policies[index].name, dimension: policies.policies[index].dimension)
        }
    }
}

/// What a member naming a policy resolves to: the name and the dimension its features must have.
struct PolicyReference {
    let name: String
    let dimension: Int
}

/// Exactly the policy's dimension of finite numbers, each |x| ≤ 1e6. A wrong length is
/// `dimension.mismatch`, checked before the elements; a bad element is `schema.invalid`.
struct FeaturesRule: ValueRule {
    let element = NumberRule(magnitudeAtMost: 1e6)
    var expected: String { "an array of the policy's dimension of numbers" }

    var schema: SchemaJSON {
        .object([
            ("type", "array"), ("items", element.schema), ("minItems", 1),
            ("maxItems", .integer(PolicyRegistry.maxDimension)),
            (
                "description",
                "Exactly the dimension of the named policy (dimension.mismatch otherwise), each |x| ≤ 1e6."
            ),
        ])
    }

    func decode(_ fields: EventFields, _ field: Field, policy: PolicyReference) throws -> [Double] {
        let path = field.name
        let dimension = policy.dimension
        var elements = try fields.array(
            field, expected: "an array of \(dimension) numbers (policy \(quoted(policy.name)))")
        let count = elements.count
        guard count == dimension else {
            throw Rejection(
                reason: .dimensionMismatch,
                detail:
                    "\(path): expected \(dimension) numbers (dimension of policy \(quoted(policy.name))), got \(count)")
        }
        if let values = elements.preparsedValues, values.allSatisfy(element.accepts) {
            return Array(values)
        }
        // Otherwise element by element, so the first bad one is named.
        var values: [Double] = []
        values.reserveCapacity(dimension)
        while !elements.isAtEnd {
            values.append(try element.decodeElement(fields, &elements, path: "\(path)[\(values.count)]"))
        }
        return values
    }
}

// MARK: Decisions

/// Distinct arm ids containing `arm_id`.
struct CandidatesRule: ValueRule {
    let element = Rules.armID
    var expected: String { "an array of distinct arm ids containing arm_id" }

    var schema: SchemaJSON {
        .object([
            ("type", "array"), ("items", element.schema), ("minItems", 1), ("uniqueItems", true),
            ("description", "Distinct arm ids; must contain arm_id."),
        ])
    }

    func decode(_ fields: EventFields, _ field: Field, armID: String) throws -> [String] {
        let path = field.name
        var elements = try fields.array(field, expected: expected)
        var candidates: [String] = []
        var seen = Set<String>()
        while !elements.isAtEnd {
            let candidate = try element.decodeElement(fields, &elements, path: "\(path)[\(candidates.count)]")
            guard seen.insert(candidate).inserted else {
                throw fields.mismatch(
                    elements, path: "\(path)[\(candidates.count)]", "distinct arm ids (a repeated candidate)",
                    value: quoted(candidate))
            }
            candidates.append(candidate)
        }
        guard seen.contains(armID) else {
            throw Rejection(
                reason: .schemaInvalid, detail: "\(path): expected to contain arm_id \(quoted(armID)), it does not")
        }
        return candidates
    }
}

/// One probability per candidate, each in [0, 1], summing to 1 ± 1e-6, the chosen arm's equal
/// to `propensity` ± 1e-6. Only with `candidates`.
struct ProbabilitiesRule: ValueRule {
    static let tolerance = 1e-6
    let element = NumberRule(minimum: 0, maximum: 1)
    var expected: String { "one number in [0, 1] per candidate" }

    var schema: SchemaJSON {
        .object([
            ("type", "array"), ("items", element.schema), ("minItems", 1),
            (
                "description",
                "One per candidate, in the same order, summing to 1 (±1e-6); the chosen arm's equals propensity (±1e-6)."
            ),
        ])
    }

    func decode(
        _ fields: EventFields, _ field: Field, candidates: [String], armID: String, propensity: Double
    ) throws -> [Double] {
        let path = field.name
        var elements = try fields.array(field, expected: "an array of \(candidates.count) numbers in [0, 1]")
        var probabilities: [Double] = []
        probabilities.reserveCapacity(candidates.count)
        while !elements.isAtEnd {
            probabilities.append(try element.decodeElement(fields, &elements, path: "\(path)[\(probabilities.count)]"))
        }
        guard probabilities.count == candidates.count else {
            throw Rejection(
                reason: .schemaInvalid,
                detail: "\(path): expected \(candidates.count) numbers (one per candidate), got \(probabilities.count)")
        }
        let sum = probabilities.reduce(0, +)
        guard abs(sum - 1) <= Self.tolerance else {
            throw Rejection(reason: .schemaInvalid, detail: "\(path): expected a sum of 1 (±1e-6), got \(sum)")
        }
        let chosen = probabilities[candidates.firstIndex(of: armID)!]
        guard abs(chosen - propensity) <= Self.tolerance else {
            throw Rejection(
                reason: .schemaInvalid,
                detail:
                    "\(path): expected the probability of arm_id \(quoted(armID)) to equal propensity \(propensity) (±1e-6), got \(chosen)"
            )
        }
        return probabilities
    }
}
