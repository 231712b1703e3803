import Foundation

/// Interprets the recorded members of a syntactically valid body, field by field in contract
/// order, into a typed event or the first `Rejection`.
struct FieldReader {
    let members: MessageMembers
    let policies: PolicyRegistry
    let now: Date
    var bytes: UnsafeRawBufferPointer { members.bytes }

    /// Longest quoted input in a detail.
    static let quoteLimit = 40

    struct Envelope {
        var eventID: UUID
        var occurredAt: Date
        var userID: String
        var source: EventSource
    }

    func event(_ subject: EventSubject) throws(Rejection) -> Event {
        if let topLevel = members.topLevel {
            throw mismatch("body", expected: "a JSON object at the top level", got: topLevel)
        }
        let envelope = try readEnvelope()
        switch subject {
        case .taskSynced: return .taskSynced(try readTaskSynced(envelope))
        case .tipFeedback: return .tipFeedback(try readTipFeedback(envelope))
        case .decision: return .decision(try readDecision(envelope))
        case .reward: return .reward(try readReward(envelope))
        case .routing: return .routing(try readRouting(envelope))
        }
    }

    // MARK: Subjects

    func readEnvelope() throws(Rejection) -> Envelope {
        let version = try required(.schemaVersion)
        guard version.kind == .number, version.isInteger, JSONNumber.integer(bytes, version) == 1 else {
            throw mismatch(Field.schemaVersion.name, expected: "the integer 1", got: version)
        }
        let eventID = try uuid(try required(.eventID), Field.eventID.name)
        let occurredAtToken = try required(.occurredAt)
        let occurredAt = try timestamp(occurredAtToken)
        let userID = try userID(try required(.userID))
        var source = EventSource.prod
        if let token = members.token(.source) {
            source = try enumValue(token, Field.source.name)
        }
        return Envelope(eventID: eventID, occurredAt: occurredAt, userID: userID, source: source)
    }

    func readTaskSynced(_ envelope: Envelope) throws(Rejection) -> TaskSynced {
        let token = try required(.taskCount)
        guard token.kind == .number, let count = JSONNumber.integer(bytes, token), (0...10_000_000).contains(count)
        else {
            throw mismatch(Field.taskCount.name, expected: "an integer 0…10000000", got: token)
        }
        return TaskSynced(
            eventID: envelope.eventID, occurredAt: envelope.occurredAt, userID: envelope.userID,
            source: envelope.source, taskCount: count)
    }

    func readTipFeedback(_ envelope: Envelope) throws(Rejection) -> TipFeedback {
        let tipID = try string(try required(.tipID), Field.tipID.name, maxCharacters: 128)
        let action: TipAction = try enumValue(try required(.action), Field.action.name)
        return TipFeedback(
            eventID: envelope.eventID, occurredAt: envelope.occurredAt, userID: envelope.userID,
            source: envelope.source, tipID: tipID, action: action)
    }

    func readDecision(_ envelope: Envelope) throws(Rejection) -> Decision {
        let decisionID = try uuid(try required(.decisionID), Field.decisionID.name)
        let policy = try policy(try required(.policy))
        let versionToken = try required(.policyVersion)
        let (policyVersion, versionName) = try policyVersion(versionToken)
        guard versionName == policy.name else {
            throw Rejection(
                reason: .schemaInvalid,
                detail:
                    "\(Field.policyVersion.name): expected the name part to equal policy \(quoted(policy.name)), got \(describe(versionToken))"
            )
        }
        let armID = try string(try required(.armID), Field.armID.name, maxCharacters: 128)
        let propensity = try number(
            try required(.propensity), Field.propensity.name, expected: "a number in (0, 1]"
        ) { $0 > 0 && $0 <= 1 }
        let features = try features(try required(.features), policy: policy)

        var candidates: [String]? = nil
        if let token = members.token(.candidates) {
            candidates = try readCandidates(token, armID: armID)
        }
        var probabilities: [Double]? = nil
        if let token = members.token(.probabilities) {
            guard let candidates else {
                throw Rejection(
                    reason: .schemaInvalid,
                    detail: "\(Field.probabilities.name): only allowed together with candidates, which is missing")
            }
            probabilities = try readProbabilities(
                token, candidates: candidates, armID: armID, propensity: propensity)
        }
        var explored: Bool? = nil
        if let token = members.token(.explored) {
            explored = try bool(token, Field.explored.name)
        }
        return Decision(
            eventID: envelope.eventID, occurredAt: envelope.occurredAt, userID: envelope.userID,
            source: envelope.source, decisionID: decisionID, policy: policy.name, policyVersion: policyVersion,
            armID: armID, propensity: propensity, features: features, candidates: candidates,
            probabilities: probabilities, explored: explored)
    }

    private func readCandidates(_ token: JSONToken, armID: String) throws(Rejection) -> [String] {
        let path = Field.candidates.name
        guard token.kind == .array else {
            throw mismatch(path, expected: "an array of distinct arm ids containing arm_id", got: token)
        }
        var candidates: [String] = []
        var seen = Set<String>()
        var elements = ArrayElements(bytes, token)
        while let element = elements.next() {
            let candidate = try string(element, "\(path)[\(candidates.count)]", maxCharacters: 128)
            guard seen.insert(candidate).inserted else {
                throw mismatch(
                    "\(path)[\(candidates.count)]", expected: "distinct arm ids (a repeated candidate)", got: element)
            }
            candidates.append(candidate)
        }
        guard seen.contains(armID) else {
            throw Rejection(
                reason: .schemaInvalid, detail: "\(path): expected to contain arm_id \(quoted(armID)), it does not")
        }
        return candidates
    }

    private func readProbabilities(
        _ token: JSONToken, candidates: [String], armID: String, propensity: Double
    ) throws(Rejection) -> [Double] {
        let path = Field.probabilities.name
        guard token.kind == .array else {
            throw mismatch(path, expected: "an array of \(candidates.count) numbers in [0, 1]", got: token)
        }
        var probabilities: [Double] = []
        probabilities.reserveCapacity(candidates.count)
        var elements = ArrayElements(bytes, token)
        while let element = elements.next() {
            probabilities.append(
                try number(element, "\(path)[\(probabilities.count)]", expected: "a number in [0, 1]") {
                    $0 >= 0 && $0 <= 1
                })
        }
        guard probabilities.count == candidates.count else {
            throw Rejection(
                reason: .schemaInvalid,
                detail:
                    "\(path): expected \(candidates.count) numbers (one per candidate), got \(probabilities.count)")
        }
        let sum = probabilities.reduce(0, +)
        guard abs(sum - 1) <= 1e-6 else {
            throw Rejection(reason: .schemaInvalid, detail: "\(path): expected a sum of 1 (±1e-6), got \(sum)")
        }
        let chosen = probabilities[candidates.firstIndex(of: armID)!]
        guard abs(chosen - propensity) <= 1e-6 else {
            throw Rejection(
                reason: .schemaInvalid,
                detail:
                    "\(path): expected the probability of arm_id \(quoted(armID)) to equal propensity \(propensity) (±1e-6), got \(chosen)"
            )
        }
        return probabilities
    }

    func readReward(_ envelope: Envelope) throws(Rejection) -> Reward {
        let reward = try number(try required(.reward), Field.reward.name, expected: "a number in [-1, 1]") {
            $0 >= -1 && $0 <= 1
        }
        let inlineFields: [Field] = [.policy, .armID, .features]
        let inlinePresent = inlineFields.filter { members.has($0) }
        let target: Reward.Target
        if let decisionToken = members.token(.decisionID) {
            guard inlinePresent.isEmpty else {
                throw Rejection(
                    reason: .schemaInvalid,
                    detail:
                        "body: expected decision_id alone or policy + arm_id + features, got decision_id mixed with \(inlinePresent.map(\.name).joined(separator: ", "))"
                )
            }
            target = .decision(id: try uuid(decisionToken, Field.decisionID.name))
        } else if inlinePresent.count == inlineFields.count {
            let policy = try policy(members.token(.policy)!)
            let armID = try string(members.token(.armID)!, Field.armID.name, maxCharacters: 128)
            let features = try features(members.token(.features)!, policy: policy)
            target = .inline(policy: policy.name, armID: armID, features: features)
        } else if inlinePresent.isEmpty {
            throw Rejection(
                reason: .schemaInvalid,
                detail: "body: expected decision_id, or policy + arm_id + features, got neither form")
        } else {
            let missing = inlineFields.filter { !members.has($0) }.map(\.name).joined(separator: ", ")
            throw Rejection(
                reason: .schemaInvalid,
                detail: "body: the inline form needs policy, arm_id and features, got no \(missing)")
        }
        return Reward(
            eventID: envelope.eventID, occurredAt: envelope.occurredAt, userID: envelope.userID,
            source: envelope.source, reward: reward, target: target)
    }

    func readRouting(_ envelope: Envelope) throws(Rejection) -> RoutingOutcome {
        let inferenceID = try uuid(try required(.inferenceID), Field.inferenceID.name)
        let taskType: TaskType = try enumValue(try required(.taskType), Field.taskType.name)
        let taskTypeSource: TaskTypeSource = try enumValue(try required(.taskTypeSource), Field.taskTypeSource.name)
        let (policyVersion, _) = try policyVersion(try required(.policyVersion))
        let model = try string(try required(.model), Field.model.name, maxCharacters: 128)
        let provider = try string(try required(.provider), Field.provider.name, maxCharacters: 64)
        let band: ConstraintBand = try enumValue(try required(.constraintBand), Field.constraintBand.name)
        let reward = try number(try required(.reward), Field.reward.name, expected: "a number in [0, 1]") {
            $0 >= 0 && $0 <= 1
        }
        let latency = try number(try required(.latencyMs), Field.latencyMs.name, expected: "a number ≥ 0") {
            $0 >= 0
        }
        let cost = try number(try required(.costUSD), Field.costUSD.name, expected: "a number ≥ 0") { $0 >= 0 }
        let completed = try bool(try required(.completed), Field.completed.name)
        var update: RoutingOutcome.BanditUpdate? = nil
        switch (members.token(.policy), members.token(.features)) {
        case (nil, nil):
            break
        case (let policyToken?, let featuresToken?):
            let policy = try policy(policyToken)
            update = .init(policy: policy.name, features: try features(featuresToken, policy: policy))
        case (nil, _?):
            throw Rejection(
                reason: .schemaInvalid, detail: "policy: required when features is given (both or neither)")
        case (_?, nil):
            throw Rejection(
                reason: .schemaInvalid, detail: "features: required when policy is given (both or neither)")
        }
        return RoutingOutcome(
            eventID: envelope.eventID, occurredAt: envelope.occurredAt, userID: envelope.userID,
            source: envelope.source, inferenceID: inferenceID, taskType: taskType, taskTypeSource: taskTypeSource,
            policyVersion: policyVersion, model: model, provider: provider, constraintBand: band, reward: reward,
            latencyMs: latency, costUSD: cost, completed: completed, banditUpdate: update)
    }

    // MARK: Values

    func required(_ field: Field) throws(Rejection) -> JSONToken {
        guard let token = members.token(field) else {
            throw Rejection(reason: .schemaInvalid, detail: "\(field.name): required field is missing")
        }
        return token
    }

    func mismatch(
        _ path: String, expected: String, got token: JSONToken, reason: RejectionReason = .schemaInvalid
    ) -> Rejection {
        Rejection(reason: reason, detail: "\(path): expected \(expected), got \(describe(token))")
    }

    /// The token as input text (cut to `quoteLimit` characters), or its kind for containers.
    func describe(_ token: JSONToken) -> String {
        switch token.kind {
        case .object: return "an object"
        case .array: return "an array"
        default:
            let text = String(
                decoding: UnsafeRawBufferPointer(rebasing: bytes[token.start..<token.end]), as: UTF8.self)
            return text.count > FieldReader.quoteLimit ? "\(text.prefix(FieldReader.quoteLimit))…" : text
        }
    }

    /// Calls `body` with the string's content, escapes resolved.
    @inline(__always)
    func withContent<R>(_ token: JSONToken, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if token.hasEscapes {
            return JSONScanner.decodedString(token, in: bytes).withUnsafeBytes(body)
        }
        return body(UnsafeRawBufferPointer(rebasing: bytes[(token.start + 1)..<(token.end - 1)]))
    }

    /// A string of 1…`maxCharacters` Unicode scalars, without U+0000 (PostgreSQL text cannot
    /// hold it).
    func string(_ token: JSONToken, _ path: @autoclosure () -> String, maxCharacters: Int) throws(Rejection) -> String {
        func expected() -> String { "a string of 1–\(maxCharacters) characters" }
        guard token.kind == .string else { throw mismatch(path(), expected: expected(), got: token) }
        if token.isASCII, !token.hasEscapes {
            // Raw ASCII: one byte per character, and no NUL (control characters must be escaped).
            let length = token.end - token.start - 2
            guard length >= 1, length <= maxCharacters else {
                throw Rejection(
                    reason: .schemaInvalid, detail: "\(path()): expected \(expected()), got \(length) characters")
            }
            return String(
                decoding: UnsafeRawBufferPointer(rebasing: bytes[(token.start + 1)..<(token.end - 1)]), as: UTF8.self)
        }
        let (value, scalars, hasNull) = withContent(token) { content -> (String, Int, Bool) in
            var scalars = 0
            var hasNull = false
            for byte in content {
                if byte & 0xC0 != 0x80 { scalars += 1 }
                if byte == 0 { hasNull = true }
            }
            return (String(decoding: content, as: UTF8.self), scalars, hasNull)
        }
        guard scalars >= 1, scalars <= maxCharacters else {
            throw Rejection(
                reason: .schemaInvalid, detail: "\(path()): expected \(expected()), got \(scalars) characters")
        }
        guard !hasNull else {
            throw Rejection(reason: .schemaInvalid, detail: "\(path()): expected no U+0000 character, got one")
        }
        return value
    }

    func userID(_ token: JSONToken) throws(Rejection) -> String {
        let expected = "1–128 characters of [A-Za-z0-9._:@-]"
        guard token.kind == .string else { throw mismatch(Field.userID.name, expected: expected, got: token) }
        let value: String? = withContent(token) { content in
            guard content.count >= 1, content.count <= 128, content.allSatisfy(FieldReader.isUserIDByte) else {
                return nil
            }
            return String(decoding: content, as: UTF8.self)
        }
        guard let value else { throw mismatch(Field.userID.name, expected: expected, got: token) }
        return value
    }

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

    func uuid(_ token: JSONToken, _ path: @autoclosure () -> String) throws(Rejection) -> UUID {
        let expected = "a UUID in canonical form (8-4-4-4-12 hex digits)"
        guard token.kind == .string, let uuid = withContent(token, UUID.canonical) else {
            throw mismatch(path(), expected: expected, got: token)
        }
        return uuid
    }

    func timestamp(_ token: JSONToken) throws(Rejection) -> Date {
        let path = Field.occurredAt.name
        guard token.kind == .string, let date = withContent(token, RFC3339.parse) else {
            throw mismatch(path, expected: "an RFC 3339 timestamp with offset, e.g. 2026-04-25T10:00:00Z", got: token)
        }
        guard date.timeIntervalSince(now) <= EventDecoder.maxFutureSkew else {
            throw mismatch(path, expected: "a time at most 24 h after now", got: token)
        }
        return date
    }

    func enumValue<Value: ByteMatchable>(_ token: JSONToken, _ path: @autoclosure () -> String) throws(Rejection)
        -> Value
    {
        if token.kind == .string, let found = withContent(token, Value.match) {
            return found
        }
        let options = Value.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        throw mismatch(path(), expected: "one of \(options)", got: token)
    }

    func bool(_ token: JSONToken, _ path: @autoclosure () -> String) throws(Rejection) -> Bool {
        switch token.kind {
        case .true: return true
        case .false: return false
        default: throw mismatch(path(), expected: "true or false", got: token)
        }
    }

    /// A finite number satisfying `isValid`; a number beyond `Double`'s range is rejected.
    @inline(__always)
    func number(
        _ token: JSONToken, _ path: @autoclosure () -> String, expected: @autoclosure () -> String,
        _ isValid: (Double) -> Bool
    ) throws(Rejection) -> Double {
        guard token.kind == .number else { throw mismatch(path(), expected: expected(), got: token) }
        let value = JSONNumber.double(bytes, token)
        guard value.isFinite else {
            throw Rejection(
                reason: .schemaInvalid,
                detail: "\(path()): expected \(expected()), got \(describe(token)) (beyond the range of a double)")
        }
        guard isValid(value) else { throw mismatch(path(), expected: expected(), got: token) }
        return value
    }

    func policy(_ token: JSONToken) throws(Rejection) -> PolicyDefinition {
        let path = Field.policy.name
        guard token.kind == .string else {
            throw mismatch(path, expected: "the name of a configured policy", got: token)
        }
        guard let index = withContent(token, policies.index(ofName:)) else {
            let names = policies.policies.map { "\"\($0.name)\"" }.joined(separator: ", ")
            throw mismatch(path, expected: "a configured policy (\(names))", got: token, reason: .policyUnknown)
        }
        return policies.policies[index]
    }

    /// `{name}@{semver}+{8 lowercase hex}`; returns the whole text and its name part.
    func policyVersion(_ token: JSONToken) throws(Rejection) -> (String, Substring) {
        let expected = "{policy}@{semver}+{8 lowercase hex}, e.g. linucb_v1@1.0.0+a3f9c2e1"
        guard token.kind == .string else { throw mismatch(Field.policyVersion.name, expected: expected, got: token) }
        let nameLength: Int? = withContent(token) { content in
            guard let at = content.firstIndex(of: UInt8(ascii: "@")), at >= 1, at <= 64,
                content[..<at].allSatisfy(FieldReader.isPolicyNameByte),
                SemanticVersion.isValid(
                    UnsafeRawBufferPointer(rebasing: content[(at + 1)...]), buildMetadata: .eightLowercaseHex)
            else { return nil }
            return at
        }
        guard let nameLength else { throw mismatch(Field.policyVersion.name, expected: expected, got: token) }
        let text = withContent(token) { String(decoding: $0, as: UTF8.self) }
        let nameEnd = text.utf8.index(text.utf8.startIndex, offsetBy: nameLength)
        return (text, text[..<nameEnd])
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

    /// Exactly the policy's dimension of finite numbers, each |x| ≤ 1e6. A wrong length is
    /// `dimension.mismatch` (checked before the elements); a bad element is `schema.invalid`.
    func features(_ token: JSONToken, policy: PolicyDefinition) throws(Rejection) -> [Double] {
        let path = Field.features.name
        let dimension = policy.dimension
        guard token.kind == .array else {
            throw mismatch(
                path, expected: "an array of \(dimension) numbers (policy \(quoted(policy.name)))", got: token)
        }
        if let count = members.preparsedFeatureCount, count == dimension {
            let values = UnsafeBufferPointer(rebasing: members.featureValues[0..<count])
            if values.allSatisfy({ abs($0) <= 1e6 }) { return Array(values) }
            // Otherwise the walk below finds the element and words the rejection.
        }
        var values: [Double] = []
        values.reserveCapacity(dimension)
        var firstError: Rejection? = nil
        var count = 0
        var elements = ArrayElements(bytes, token)
        while let element = elements.next() {
            if firstError == nil {
                do throws(Rejection) {
                    values.append(
                        try number(element, "\(path)[\(count)]", expected: "a finite number with |x| ≤ 1e6") {
                            abs($0) <= 1e6
                        })
                } catch {
                    firstError = error
                }
            }
            count += 1
        }
        guard count == dimension else {
            throw Rejection(
                reason: .dimensionMismatch,
                detail:
                    "\(path): expected \(dimension) numbers (dimension of policy \(quoted(policy.name))), got \(count)")
        }
        if let firstError { throw firstError }
        return values
    }
}

/// Walks the elements of an array token that has already been scanned.
struct ArrayElements {
    private var scanner: JSONScanner

    init(_ bytes: UnsafeRawBufferPointer, _ token: JSONToken) {
        scanner = JSONScanner(bytes, at: token.start + 1)
    }

    mutating func next() -> JSONToken? {
        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: ",") {
            scanner.index += 1
            scanner.skipWhitespace()
        }
        guard let byte = scanner.peek(), byte != UInt8(ascii: "]") else { return nil }
        // Scanned before at a greater or equal depth, so this cannot fail.
        return try? scanner.scanValue(depth: 2)
    }
}
