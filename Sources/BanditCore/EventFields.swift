import Foundation

extension CodingUserInfoKey {
    /// The `PolicyRegistry` an event's `policy` and `features` are checked against. Required to
    /// decode a `signals.decision`, an inline `feedback.reward` or a `feedback.routing` that
    /// carries `policy`, with any `Decoder`.
    public static let policyRegistry = CodingUserInfoKey(rawValue: "banditd.policyRegistry")!
    /// The receiver's clock (`Date`) for "occurred_at at most 24 h in the future"; the current
    /// time when absent.
    public static let eventClock = CodingUserInfoKey(rawValue: "banditd.eventClock")!
}

/// The members of one payload as an event's `init(from:)` reads them: a keyed container plus
/// the conversion of every decoding failure into the `Rejection` the contract names. Works with
/// any `Decoder`; with `StrictEventDecoder` a rejection quotes the input text it refers to.
struct EventFields {
    let container: KeyedDecodingContainer<Field>
    let decoder: any Decoder
    private let strict: StrictEventDecoder?

    init(_ decoder: any Decoder) throws {
        self.decoder = decoder
        let strict = decoder as? StrictEventDecoder
        self.strict = strict
        do {
            container = try decoder.container(keyedBy: Field.self)
        } catch {
            throw Rejection(
                reason: .schemaInvalid,
                detail: "body: expected a JSON object at the top level, got \(strict?.lastValueText ?? "another value")")
        }
    }

    // MARK: Context

    func policies() throws -> PolicyRegistry {
        if let strict { return strict.policies }
        guard let policies = decoder.userInfo[.policyRegistry] as? PolicyRegistry else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: decoder.codingPath,
                    debugDescription: "userInfo[.policyRegistry] must hold the PolicyRegistry to check policies against"
                ))
        }
        return policies
    }

    func now() throws -> Date {
        if let strict { return strict.now }
        return decoder.userInfo[.eventClock] as? Date ?? Date()
    }

    // MARK: Presence

    @inline(__always)
    func has(_ field: Field) -> Bool {
        container.contains(field)
    }

    @inline(__always)
    func require(_ field: Field) throws(Rejection) {
        guard container.contains(field) else {
            throw Rejection(reason: .schemaInvalid, detail: "\(field.name): required field is missing")
        }
    }

    /// A required member.
    @inline(__always)
    func decode<Rule: MemberRule>(_ member: Member<Rule>) throws -> Rule.Value {
        try require(member.field)
        return try member.rule.decode(self, member.field)
    }

    /// An optional member: nil when absent; `null` is not absent and is rejected.
    @inline(__always)
    func decodeIfPresent<Rule: MemberRule>(_ member: Member<Rule>) throws -> Rule.Value? {
        guard has(member.field) else { return nil }
        return try member.rule.decode(self, member.field)
    }

    // MARK: Values, failures turned into rejections

    /// `path: expected …, got …`, quoting the input (strict decoder) or `value`.
    func mismatch(
        _ path: String, _ expected: String, value: @autoclosure () -> String, reason: RejectionReason = .schemaInvalid
    ) -> Rejection {
        Rejection(reason: reason, detail: "\(path): expected \(expected), got \(strict?.lastValueText ?? value())")
    }

    private func failed(_ path: String, _ expected: String, _ error: any Error) -> Rejection {
        if let rejection = error as? Rejection { return rejection }
        return Rejection(
            reason: .schemaInvalid,
            detail: "\(path): expected \(expected), got \(strict?.lastValueText ?? EventFields.describe(error))")
    }

    func integer(_ field: Field, expected: @autoclosure () -> String) throws -> Int {
        do {
            return try container.decode(Int.self, forKey: field)
        } catch {
            throw failed(field.name, expected(), error)
        }
    }

    func double(_ field: Field, path: @autoclosure () -> String, expected: @autoclosure () -> String) throws -> Double
    {
        do {
            return try container.decode(Double.self, forKey: field)
        } catch {
            throw numberFailed(path(), expected(), error)
        }
    }

    func double(
        _ elements: inout any UnkeyedDecodingContainer, path: @autoclosure () -> String,
        expected: @autoclosure () -> String
    ) throws -> Double {
        do {
            return try elements.decode(Double.self)
        } catch {
            throw numberFailed(path(), expected(), error)
        }
    }

    /// A number token that does not decode as a `Double` is beyond its range.
    private func numberFailed(_ path: String, _ expected: String, _ error: any Error) -> Rejection {
        if let strict, strict.lastValueIsNumber {
            return Rejection(
                reason: .schemaInvalid,
                detail: "\(path): expected \(expected), got \(strict.lastValueText ?? "a number") (beyond the range of a double)")
        }
        return failed(path, expected, error)
    }

    func string(_ field: Field, expected: @autoclosure () -> String) throws -> String {
        do {
            return try container.decode(String.self, forKey: field)
        } catch {
            throw failed(field.name, expected(), error)
        }
    }

    func string(
        _ elements: inout any UnkeyedDecodingContainer, path: @autoclosure () -> String,
        expected: @autoclosure () -> String
    ) throws -> String {
        do {
            return try elements.decode(String.self)
        } catch {
            throw failed(path(), expected(), error)
        }
    }

    func bool(_ field: Field, expected: @autoclosure () -> String) throws -> Bool {
        do {
            return try container.decode(Bool.self, forKey: field)
        } catch {
            throw failed(field.name, expected(), error)
        }
    }

    func array(_ field: Field, expected: @autoclosure () -> String) throws -> any UnkeyedDecodingContainer {
        do {
            return try container.nestedUnkeyedContainer(forKey: field)
        } catch {
            throw failed(field.name, expected(), error)
        }
    }

    /// What another `Decoder`'s error says came instead.
    static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .valueNotFound?: "null"
        case .typeMismatch?: "a value of another type"
        case .dataCorrupted(let context)?: "a value that does not fit (\(context.debugDescription))"
        default: "a value that does not fit"
        }
    }
}
