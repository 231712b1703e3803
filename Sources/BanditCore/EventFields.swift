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
/// any `Decoder`. With `StrictEventDecoder` the same container calls go to its keyed container
/// (`TopLevelContainer`, what its `container(keyedBy:)` returns) unboxed: the standard library's
/// type-erasing box casts the key on every call, which measured a third of the decode time. A
/// rejection then quotes the input text.
struct EventFields {
    /// Set when reading from `StrictEventDecoder` (otherwise `other` is): its message, and the
    /// decoder unmanaged. Like the body's bytes, nothing read from a message outlives its
    /// decoding, and the hot path counts no references.
    private let strict: UnsafePointer<StrictMessage>?
    private let strictDecoder: Unmanaged<StrictEventDecoder>?
    private let other: Other?

    /// Another `Decoder` and its container.
    private final class Other {
        let decoder: any Decoder
        let container: KeyedDecodingContainer<Field>

        init(_ decoder: any Decoder) throws {
            self.decoder = decoder
            container = try decoder.container(keyedBy: Field.self)
        }
    }

    private var boxed: KeyedDecodingContainer<Field>? { other?.container }

    init(_ decoder: any Decoder) throws {
        let strictDecoder = decoder as? StrictEventDecoder
        self.strict = strictDecoder?.message
        self.strictDecoder = strictDecoder.map(Unmanaged.passUnretained)
        if let strictDecoder {
            if let topLevel = strictDecoder.members.topLevel {
                throw Rejection(
                    reason: .schemaInvalid,
                    detail: "body: expected a JSON object at the top level, got \(strictDecoder.describe(topLevel))")
            }
            other = nil
        } else {
            do {
                other = try Other(decoder)
            } catch {
                throw Rejection(
                    reason: .schemaInvalid,
                    detail: "body: expected a JSON object at the top level, got \(EventFields.describe(error))")
            }
        }
    }

    // MARK: Context

    /// Calls `body` with the registry policies are checked against (borrowed, not copied).
    func withPolicies<Result>(_ body: (borrowing PolicyRegistry) throws -> Result) throws -> Result {
        if let strictDecoder { return try strictDecoder._withUnsafeGuaranteedRef { try $0.withPolicies(body) } }
        let decoder = other!.decoder
        guard let policies = decoder.userInfo[.policyRegistry] as? PolicyRegistry else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: decoder.codingPath,
                    debugDescription: "userInfo[.policyRegistry] must hold the PolicyRegistry to check policies against"
                ))
        }
        return try body(policies)
    }

    func now() throws -> Date {
        if let strict { return strict.pointee.now }
        return other!.decoder.userInfo[.eventClock] as? Date ?? Date()
    }

    // MARK: Presence

    @inline(__always)
    func has(_ field: Field) -> Bool {
        if let strict { return strict.pointee.members.has(field) }
        return boxed!.contains(field)
    }

    @inline(__always)
    func require(_ field: Field) throws(Rejection) {
        guard has(field) else {
            throw Rejection(reason: .schemaInvalid, detail: "\(field.name): required field is missing")
        }
    }

    /// A required member.
    func decode<Rule: MemberRule>(_ member: Member<Rule>) throws -> Rule.Value {
        try require(member.field)
        return try member.rule.decode(self, member.field)
    }

    /// An optional member: nil when absent; `null` is not absent and is rejected.
    func decodeIfPresent<Rule: MemberRule>(_ member: Member<Rule>) throws -> Rule.Value? {
        guard has(member.field) else { return nil }
        return try member.rule.decode(self, member.field)
    }

    // MARK: Values, failures turned into rejections

    /// The input text of a member (strict decoder), for a rejection to quote.
    private func got(_ field: Field) -> String? {
        guard let strict, let token = strict.pointee.members.token(field) else { return nil }
        return strict.pointee.describe(token)
    }

    /// `field: expected …, got …`, quoting the input (strict decoder) or `value`.
    func mismatch(
        _ field: Field, _ expected: String, value: @autoclosure () -> String, reason: RejectionReason = .schemaInvalid
    ) -> Rejection {
        Rejection(reason: reason, detail: "\(field.name): expected \(expected), got \(got(field) ?? value())")
    }

    /// `path: expected …, got …` for the element of `elements` read last.
    func mismatch(
        _ elements: EventElements, path: String, _ expected: String, value: @autoclosure () -> String
    ) -> Rejection {
        let text = strict.flatMap { strict in elements.lastElement.map(strict.pointee.describe) }
        return Rejection(reason: .schemaInvalid, detail: "\(path): expected \(expected), got \(text ?? value())")
    }

    private func failed(_ field: Field, _ expected: String, _ error: any Error) -> Rejection {
        if let rejection = error as? Rejection { return rejection }
        return mismatch(field, expected, value: EventFields.describe(error))
    }

    /// A number token that does not decode as a `Double` is beyond its range.
    private func numberFailed(_ field: Field, _ expected: String, _ error: any Error) -> Rejection {
        if let strict, let token = strict.pointee.members.token(field), token.kind == .number {
            return Rejection(
                reason: .schemaInvalid,
                detail:
                    "\(field.name): expected \(expected), got \(strict.pointee.describe(token)) (beyond the range of a double)"
            )
        }
        return failed(field, expected, error)
    }

    private func elementFailed(
        _ elements: EventElements, path: String, _ expected: String, _ error: any Error, number: Bool = false
    ) -> Rejection {
        if let strict, let token = elements.lastElement {
            let beyond = number && token.kind == .number ? " (beyond the range of a double)" : ""
            return Rejection(
                reason: .schemaInvalid,
                detail: "\(path): expected \(expected), got \(strict.pointee.describe(token))\(beyond)")
        }
        return mismatch(elements, path: path, expected, value: EventFields.describe(error))
    }

    @inline(__always)
    func integer(_ field: Field, expected: @autoclosure () -> String) throws -> Int {
        do {
            if let strict {
                return try TopLevelContainer(message: strict, reference: strictDecoder!).decode(Int.self, forKey: field)
            }
            return try boxed!.decode(Int.self, forKey: field)
        } catch {
            throw failed(field, expected(), error)
        }
    }

    @inline(__always)
    func double(_ field: Field, expected: @autoclosure () -> String) throws -> Double {
        do {
            if let strict {
                return try TopLevelContainer(message: strict, reference: strictDecoder!).decode(
                    Double.self, forKey: field)
            }
            return try boxed!.decode(Double.self, forKey: field)
        } catch {
            throw numberFailed(field, expected(), error)
        }
    }

    @inline(__always)
    func string(_ field: Field, expected: @autoclosure () -> String) throws -> String {
        do {
            if let strict {
                return try TopLevelContainer(message: strict, reference: strictDecoder!).decode(
                    String.self, forKey: field)
            }
            return try boxed!.decode(String.self, forKey: field)
        } catch {
            throw failed(field, expected(), error)
        }
    }

    /// The UTF-8 of a string member. `body` returns nil to reject the value as not `expected`.
    @inline(__always)
    func string<Value>(
        _ field: Field, expected: @autoclosure () -> String, _ body: (UnsafeRawBufferPointer) -> Value?
    ) throws -> Value {
        if let strict {
            let value: Value?
            do {
                value = try TopLevelContainer(message: strict, reference: strictDecoder!).withUTF8(forKey: field, body)
            } catch {
                throw failed(field, expected(), error)
            }
            guard let value else { throw mismatch(field, expected(), value: "") }
            return value
        }
        var text = try string(field, expected: expected())
        guard let value = text.withUTF8({ body(UnsafeRawBufferPointer($0)) }) else {
            throw mismatch(field, expected(), value: quoted(text))
        }
        return value
    }

    @inline(__always)
    func bool(_ field: Field, expected: @autoclosure () -> String) throws -> Bool {
        do {
            if let strict {
                return try TopLevelContainer(message: strict, reference: strictDecoder!).decode(
                    Bool.self, forKey: field)
            }
            return try boxed!.decode(Bool.self, forKey: field)
        } catch {
            throw failed(field, expected(), error)
        }
    }

    @inline(__always)
    func array(_ field: Field, expected: @autoclosure () -> String) throws -> EventElements {
        do {
            if let strict {
                return EventElements(
                    strict: try TopLevelContainer(message: strict, reference: strictDecoder!).arrayContainer(
                        forKey: field))
            }
            return EventElements(boxed: try boxed!.nestedUnkeyedContainer(forKey: field))
        } catch {
            throw failed(field, expected(), error)
        }
    }

    @inline(__always)
    func double(_ elements: inout EventElements, path: @autoclosure () -> String, expected: @autoclosure () -> String)
        throws -> Double
    {
        do {
            return try elements.decodeDouble()
        } catch {
            throw elementFailed(elements, path: path(), expected(), error, number: true)
        }
    }

    @inline(__always)
    func string(_ elements: inout EventElements, path: @autoclosure () -> String, expected: @autoclosure () -> String)
        throws -> String
    {
        do {
            return try elements.decodeString()
        } catch {
            throw elementFailed(elements, path: path(), expected(), error)
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

/// The elements of an array member (an unkeyed container; unboxed from the strict decoder).
struct EventElements {
    private var strict: ArrayContainer?
    /// Another decoder's container, in a class so this struct copies cheaply.
    private let boxed: Box?

    private final class Box {
        var container: any UnkeyedDecodingContainer
        init(_ container: any UnkeyedDecodingContainer) { self.container = container }
    }

    init(strict: ArrayContainer) {
        self.strict = strict
        boxed = nil
    }

    init(boxed: any UnkeyedDecodingContainer) {
        strict = nil
        self.boxed = Box(boxed)
    }

    var count: Int { strict?.count ?? boxed!.container.count ?? 0 }

    var isAtEnd: Bool { strict?.isAtEnd ?? boxed!.container.isAtEnd }

    /// The strict decoder's element read last.
    var lastElement: JSONToken? { strict?.lastElement }

    /// Every element as the scan converted it, when it did (the strict decoder's `features`).
    var preparsedValues: UnsafeBufferPointer<Double>? { strict?.preparsedValues }

    mutating func decodeDouble() throws -> Double {
        if strict != nil { return try strict!.decode(Double.self) }
        return try boxed!.container.decode(Double.self)
    }

    mutating func decodeString() throws -> String {
        if strict != nil { return try strict!.decode(String.self) }
        return try boxed!.container.decode(String.self)
    }
}
