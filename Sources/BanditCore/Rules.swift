import Foundation

/// The rule of every member of the v1 payloads (CONTRACT section 2), each written once. The
/// event types read their members with these, and `EventSchema` exports them as JSON Schema.
enum Rules {
    // MARK: Envelope

    static let schemaVersion = IntegerRule(range: 1...1)
    static let uuid = FormatRule<UUIDFormat>()
    static let occurredAt = TimestampRule()
    static let userID = FormatRule<UserIDFormat>()
    static let source = ChoiceRule<EventSource>()

    // MARK: Subjects

    static let taskCount = IntegerRule(range: 0...10_000_000)
    static let tipID = TextRule(maxCharacters: 128)
    static let tipAction = ChoiceRule<TipAction>()
    static let policy = PolicyRule()
    static let policyVersion = PolicyVersionRule()
    static let armID = TextRule(maxCharacters: 128)
    static let propensity = NumberRule(minimum: 0, exclusive: true, maximum: 1)
    static let features = FeaturesRule()
    static let candidates = CandidatesRule()
    static let probabilities = ProbabilitiesRule()
    static let explored = BooleanRule()
    /// `reward` of `feedback.reward`.
    static let reward = NumberRule(minimum: -1, maximum: 1)
    /// `reward` of `feedback.routing`: a quality.
    static let quality = NumberRule(minimum: 0, maximum: 1)
    static let taskType = ChoiceRule<TaskType>()
    static let taskTypeSource = ChoiceRule<TaskTypeSource>()
    static let model = TextRule(maxCharacters: 128)
    static let provider = TextRule(maxCharacters: 64)
    static let constraintBand = ChoiceRule<ConstraintBand>()
    static let latencyMs = NumberRule(minimum: 0)
    static let costUSD = NumberRule(minimum: 0)
    static let completed = BooleanRule()

    @inline(__always)
    static func isUserIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
            UInt8(ascii: "@"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    static func isPolicyNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}

/// A canonical UUID, either case.
enum UUIDFormat: TextFormat {
    static var expected: String { "a UUID in canonical form (8-4-4-4-12 hex digits)" }
    static var pattern: String {
        "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$(?!\\n)"
    }
    static var format: String? { "uuid" }
    static func parse(_ content: UnsafeRawBufferPointer) -> UUID? { UUID.canonical(content) }
}

/// `user_id`.
enum UserIDFormat: TextFormat {
    static var expected: String { "1–128 characters of [A-Za-z0-9._:@-]" }
    static var pattern: String { "^[A-Za-z0-9._:@-]{1,128}$(?!\\n)" }
    static var format: String? { nil }

    static func parse(_ content: UnsafeRawBufferPointer) -> String? {
        guard content.count >= 1, content.count <= 128, content.allSatisfy(Rules.isUserIDByte) else { return nil }
        return String(decoding: content, as: UTF8.self)
    }
}

/// RFC 3339 with offset, at most `EventDecoder.maxFutureSkew` after the decoder's clock.
struct TimestampRule: MemberRule {
    var expected: String { "an RFC 3339 timestamp with offset, e.g. 2026-04-25T10:00:00Z" }
    /// Month lengths are in the pattern; February 29 outside a leap year is not.
    static let pattern =
        "^[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
        + "|02-(?:0[1-9]|1[0-9]|2[0-9]))[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\\.[0-9]+)?"
        + "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$(?!\\n)"

    var schema: SchemaJSON {
        .object([("type", "string"), ("pattern", .string(Self.pattern)), ("format", "date-time")])
    }

    func decode(_ fields: EventFields, _ field: Field) throws -> Date {
        let date = try fields.string(field, expected: expected, RFC3339.parse)
        guard date.timeIntervalSince(try fields.now()) <= EventDecoder.maxFutureSkew else {
            throw fields.mismatch(field, "a time at most 24 h after now", value: RFC3339.format(date) ?? "\(date)")
        }
        return date
    }
}

/// `{name}@{semver}+{8 lowercase hex}`, e.g. `linucb_v1@1.0.0+a3f9c2e1`.
struct PolicyVersionRule: MemberRule {
    var expected: String { "{policy}@{semver}+{8 lowercase hex}, e.g. linucb_v1@1.0.0+a3f9c2e1" }
    /// semver.org's expression, with ASCII digits only and the build part fixed to 8 hex digits.
    static let pattern =
        "^[A-Za-z0-9._-]{1,64}@(?:0|[1-9][0-9]*)\\.(?:0|[1-9][0-9]*)\\.(?:0|[1-9][0-9]*)"
        + "(?:-(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?"
        + "\\+[0-9a-f]{8}$(?!\\n)"

    var schema: SchemaJSON { .object([("type", "string"), ("pattern", .string(Self.pattern))]) }

    /// The whole text and the length in bytes of its name part.
    func decode(_ fields: EventFields, _ field: Field) throws -> (text: String, nameLength: Int) {
        try fields.string(field, expected: expected) { content in
            Self.nameLength(content).map { (String(decoding: content, as: UTF8.self), $0) }
        }
    }

    static func nameLength(_ content: UnsafeRawBufferPointer) -> Int? {
        guard let at = content.firstIndex(of: UInt8(ascii: "@")), at >= 1, at <= 64,
            content[..<at].allSatisfy(Rules.isPolicyNameByte),
            SemanticVersion.isValid(
                UnsafeRawBufferPointer(rebasing: content[(at + 1)...]), buildMetadata: .eightLowercaseHex)
        else { return nil }
        return at
    }
}
