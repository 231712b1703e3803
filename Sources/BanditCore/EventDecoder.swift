import Foundation

/// The one entry point from message to typed event: subject, headers and body bytes in, an
/// `Event` or a `Rejection` out. Pure: no I/O, no shared state, never throws, never traps on
/// input.
///
/// Order of checks, so each message gets the most useful reason:
/// 1. body size (`payload.too_large`) — before anything is read;
/// 2. subject (`subject.unknown`);
/// 3. UTF-8, then JSON syntax of the whole body (`json.invalid`), duplicate names included;
/// 4. top-level object, then the members in contract order: `schema_version`, `event_id`,
///    `occurred_at`, `user_id`, `source`, then the subject's own fields (`schema.invalid`,
///    `policy.unknown`, `dimension.mismatch`). This step is the event types' `init(from:)`,
///    read through `StrictEventDecoder` over the scanned members.
///
/// Headers are not needed by any v1 rule; they are taken so rules about them (e.g. a
/// `Nats-Msg-Id` that must equal `event_id`) can be added without changing callers.
public struct EventDecoder: Sendable {
    public static let defaultMaxPayloadBytes = 65_536
    /// Deepest nesting of arrays and objects accepted anywhere in a body.
    public static let maxNestingDepth = JSONScanner.maxDepth
    /// How far `occurred_at` may lie ahead of `now`.
    public static let maxFutureSkew: TimeInterval = 24 * 60 * 60

    public let policies: PolicyRegistry
    public let maxPayloadBytes: Int

    /// `maxPayloadBytes` is clamped to 0…4 GiB − 1 (token offsets are 32-bit).
    public init(policies: PolicyRegistry, maxPayloadBytes: Int = EventDecoder.defaultMaxPayloadBytes) {
        self.policies = policies
        self.maxPayloadBytes = min(max(0, maxPayloadBytes), Int(UInt32.max - 1))
    }

    /// Decodes and validates one message. The body is borrowed for the call only.
    public func decode(
        subject: String, headers: [String: String], body: UnsafeRawBufferPointer, now: Date
    ) -> Result<Event, Rejection> {
        guard body.count <= maxPayloadBytes else {
            return .failure(
                Rejection(
                    reason: .payloadTooLarge,
                    detail: "body: expected at most \(maxPayloadBytes) bytes, got \(body.count)"))
        }
        guard let knownSubject = EventSubject.match(subject) else {
            return .failure(
                Rejection(
                    reason: .subjectUnknown,
                    detail: "subject: expected one of \(EventDecoder.subjectList), got \(quoted(subject))"))
        }
        do throws(Rejection) {
            return .success(try decode(knownSubject, body, now: now))
        } catch {
            return .failure(error)
        }
    }

    /// Decodes and validates one message from any byte collection (`[UInt8]`, `Data`, …).
    /// Contiguous storage is read in place; anything else is copied once, after the size check.
    public func decode(
        subject: String, headers: [String: String], body: some Collection<UInt8>, now: Date
    ) -> Result<Event, Rejection> {
        if let result = body.withContiguousStorageIfAvailable({
            decode(subject: subject, headers: headers, body: UnsafeRawBufferPointer($0), now: now)
        }) {
            return result
        }
        let count = body.count
        guard count <= maxPayloadBytes else {
            return .failure(
                Rejection(
                    reason: .payloadTooLarge, detail: "body: expected at most \(maxPayloadBytes) bytes, got \(count)"))
        }
        return Array(body).withUnsafeBytes { decode(subject: subject, headers: headers, body: $0, now: now) }
    }

    private static let subjectList = EventSubject.allCases.map(\.rawValue).joined(separator: ", ")

    private func decode(_ subject: EventSubject, _ body: UnsafeRawBufferPointer, now: Date) throws(Rejection)
        -> Event
    {
        try withStrictDecoder(subject, body, now: now) { (decoder) throws(Rejection) -> Event in
            do {
                return try Event(subject: subject, from: decoder)
            } catch let rejection as Rejection {
                throw rejection
            } catch {
                // The event types turn every decoding failure into a Rejection.
                throw Rejection(reason: .schemaInvalid, detail: "body: \(error)")
            }
        }
    }

    /// Checks the body's encoding and syntax, then calls `read` with the strict `Decoder` over
    /// its members (valid for the call only).
    func withStrictDecoder<Result>(
        _ subject: EventSubject, _ body: UnsafeRawBufferPointer, now: Date,
        _ read: (StrictEventDecoder) throws(Rejection) -> Result
    ) throws(Rejection) -> Result {
        if let offset = UTF8Validation.firstInvalidOffset(body) {
            throw Rejection(reason: .jsonInvalid, detail: "body: invalid UTF-8 at byte \(offset)")
        }
        if body.count >= 3, body[0] == 0xEF, body[1] == 0xBB, body[2] == 0xBF {
            throw Rejection(reason: .jsonInvalid, detail: "body: byte order mark at byte 0 (not allowed in JSON)")
        }
        return try withUnsafeTemporaryAllocation(of: JSONToken.self, capacity: Field.allCases.count) {
            (slots) throws(Rejection) -> Result in
            try withUnsafeTemporaryAllocation(of: Double.self, capacity: MessageMembers.featureCapacity) {
                (featureValues) throws(Rejection) -> Result in
                var members = MessageMembers(bytes: body, slots: slots, featureValues: featureValues)
                do throws(JSONSyntaxError) {
                    try members.scan(subject)
                } catch {
                    throw Rejection(reason: .jsonInvalid, detail: "body: \(error.message) (byte \(error.offset))")
                }
                var message = StrictMessage(members: members, now: now)
                return try withUnsafePointer(to: &message) { (message) throws(Rejection) -> Result in
                    try withUnsafePointer(to: policies) { (policies) throws(Rejection) -> Result in
                        try read(StrictEventDecoder(message, policies: policies))
                    }
                }
            }
        }
    }
}

/// The members of a message body that its subject reads, as token slots indexed by `Field`.
struct MessageMembers {
    /// Room for a pre-parsed `features` vector: no policy has more than 64 dimensions.
    static let featureCapacity = PolicyRegistry.maxDimension

    let bytes: UnsafeRawBufferPointer
    let slots: UnsafeMutableBufferPointer<JSONToken>
    var present: UInt64 = 0
    /// Set when the body is well-formed JSON but not an object.
    var topLevel: JSONToken?
    /// The `features` values, converted during the scan when the array holds only numbers
    /// with a fast exact value (`preparsedFeatureCount` is then their count).
    let featureValues: UnsafeMutableBufferPointer<Double>
    var preparsedFeatureCount: Int?

    init(
        bytes: UnsafeRawBufferPointer, slots: UnsafeMutableBufferPointer<JSONToken>,
        featureValues: UnsafeMutableBufferPointer<Double>
    ) {
        self.bytes = bytes
        self.slots = slots
        self.featureValues = featureValues
    }

    func token(_ field: Field) -> JSONToken? {
        present & (1 << UInt64(field.rawValue)) != 0 ? slots[field.rawValue] : nil
    }

    func has(_ field: Field) -> Bool {
        present & (1 << UInt64(field.rawValue)) != 0
    }

    /// Checks the whole body's syntax and records the subject's members.
    ///
    /// The top-level object is walked here rather than with `JSONScanner.scanMembers` so the
    /// value of a member can be scanned knowing which member it is (`features`).
    mutating func scan(_ subject: EventSubject) throws(JSONSyntaxError) {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        guard !scanner.isAtEnd else { throw scanner.error("expected a JSON object, got an empty body") }
        if scanner.peek() != UInt8(ascii: "{") {
            topLevel = try scanner.scanValue(depth: 1)
        } else {
            try scanTopLevelObject(&scanner, Field.members(of: subject))
        }
        scanner.skipWhitespace()
        guard scanner.isAtEnd else {
            throw scanner.error("expected end of input after the JSON value, got \(scanner.found())")
        }
    }

    private mutating func scanTopLevelObject(_ scanner: inout JSONScanner, _ members: [Field])
        throws(JSONSyntaxError)
    {
        var unknown = UnknownNames(bytes: bytes)
        // Producers mostly send members in contract order: look where the last one matched.
        var hint = 0
        let start = scanner.index
        scanner.index += 1
        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: "}") {
            scanner.index += 1
            return
        }
        while true {
            guard scanner.peek() == UInt8(ascii: "\"") else {
                throw scanner.error("expected a member name (a string), got \(scanner.found())")
            }
            let key = try scanner.scanString()
            scanner.skipWhitespace()
            try scanner.expect(UInt8(ascii: ":"), "':' after a member name")
            scanner.skipWhitespace()
            let signature: NameSignature?
            if key.hasEscapes {
                signature = JSONScanner.decodedString(key, in: bytes).withUnsafeBytes { NameSignature($0) }
            } else {
                signature = NameSignature(in: bytes, start: key.start + 1, count: key.end - key.start - 2)
            }
            let field = MessageMembers.match(signature, members, hint: &hint)
            let value: JSONToken
            if field == .features, scanner.peek() == UInt8(ascii: "["),
                let (array, count) = scanner.scanFastNumberArray(into: featureValues)
            {
                value = array
                preparsedFeatureCount = count
            } else {
                value = try scanner.scanValue(depth: 2)
            }
            if let field {
                let bit: UInt64 = 1 << UInt64(field.rawValue)
                guard present & bit == 0 else {
                    throw JSONSyntaxError(offset: key.start, message: "duplicate member name \"\(field.name)\"")
                }
                present |= bit
                slots[field.rawValue] = value
            } else {
                try unknown.insert(key)
            }
            scanner.skipWhitespace()
            guard let byte = scanner.peek() else {
                throw scanner.error("unterminated object starting at byte \(start)")
            }
            scanner.index += 1
            if byte == UInt8(ascii: "}") { return }
            guard byte == UInt8(ascii: ",") else {
                scanner.index -= 1
                throw scanner.error("expected ',' or '}' in an object, got \(scanner.found())")
            }
            scanner.skipWhitespace()
        }
    }

    /// The member with this name, searching from `hint` (then just past the match).
    @inline(__always)
    private static func match(_ signature: NameSignature?, _ members: [Field], hint: inout Int) -> Field? {
        guard let signature else { return nil }
        let signatures = Field.signatures
        let count = members.count
        var position = hint < count ? hint : 0
        for _ in 0..<count {
            let field = members[position]
            if signatures[field.rawValue] == signature {
                hint = position + 1
                return field
            }
            position = position + 1 == count ? 0 : position + 1
        }
        return nil
    }
}

/// Names of the members a subject does not read, kept only to reject duplicates. A few are
/// compared as raw text (the common case, no allocation); past `inlineLimit`, or once an
/// escaped name shows up, names are resolved and kept in a set.
struct UnknownNames {
    static let inlineLimit = 8

    let bytes: UnsafeRawBufferPointer
    private var raw: [JSONToken] = []
    private var resolved: Set<[UInt8]>? = nil

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func insert(_ key: JSONToken) throws(JSONSyntaxError) {
        if resolved == nil, !key.hasEscapes, raw.count < UnknownNames.inlineLimit {
            let name = UnsafeRawBufferPointer(rebasing: bytes[key.start..<key.end])
            for previous in raw where previous.end - previous.start == name.count {
                if UnsafeRawBufferPointer(rebasing: bytes[previous.start..<previous.end]).elementsEqual(name) {
                    throw duplicate(key)
                }
            }
            raw.append(key)
            return
        }
        if resolved == nil {
            resolved = Set(raw.map { JSONScanner.decodedString($0, in: bytes) })
            raw = []
        }
        guard resolved!.insert(JSONScanner.decodedString(key, in: bytes)).inserted else { throw duplicate(key) }
    }

    private func duplicate(_ key: JSONToken) -> JSONSyntaxError {
        JSONSyntaxError(
            offset: key.start,
            message: "duplicate member name \(JSONScanner.describeKey(JSONScanner.decodedString(key, in: bytes)))")
    }
}
