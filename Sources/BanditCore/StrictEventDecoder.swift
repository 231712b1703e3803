import Foundation

/// The strict `Decoder` over one scanned message body (`MessageMembers`): the events'
/// `init(from:)` read through it when `EventDecoder` decodes a message.
///
/// Stricter than `JSONDecoder` where the contract is: `decode(Int.self)` takes only integer
/// tokens (`1.0` and `1e0` are not integers), `decodeNil` rejects `null` (an optional member
/// given as `null` is not absent), a number beyond `Double`'s range is an error rather than
/// infinity, and strings are never coerced. The body's syntax (duplicate names, lone
/// surrogates, depth) was checked by the scan. Top-level members are looked up by `Field` slot
/// (one bit test and one load); members of other objects by a linear walk.
///
/// It borrows the body's bytes: it lives only inside `EventDecoder.decode` and is never handed
/// out. `userInfo` holds the policy registry and the clock (`.policyRegistry`, `.eventClock`).
final class StrictEventDecoder: Decoder {
    /// The message; a pointer to plain values, so the containers read it without reference
    /// counting.
    let message: UnsafePointer<StrictMessage>
    /// The caller's registry, borrowed for the decode like the message.
    private let registry: UnsafePointer<PolicyRegistry>

    init(_ message: UnsafePointer<StrictMessage>, policies: UnsafePointer<PolicyRegistry>) {
        self.message = message
        self.registry = policies
    }

    var policies: PolicyRegistry { registry.pointee }

    func withPolicies<Result>(_ body: (borrowing PolicyRegistry) throws -> Result) rethrows -> Result {
        try body(registry.pointee)
    }

    var members: MessageMembers { message.pointee.members }
    var now: Date { message.pointee.now }
    var bytes: UnsafeRawBufferPointer { message.pointee.members.bytes }
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [.policyRegistry: policies, .eventClock: now] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if let topLevel = members.topLevel {
            throw message.pointee.mismatch(topLevel, "an object", path: [])
        }
        return KeyedDecodingContainer(TopLevelContainer<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard let topLevel = members.topLevel, topLevel.kind == .array else {
            throw DecodingError.typeMismatch(
                [Any].self, .init(codingPath: [], debugDescription: "expected an array at the top level"))
        }
        return ArrayContainer(decoder: self, token: topLevel, codingPath: [])
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        guard let topLevel = members.topLevel else {
            throw DecodingError.typeMismatch(
                Any.self, .init(codingPath: [], debugDescription: "the top level is an object: use a keyed container"))
        }
        return ValueDecoder(decoder: self, token: topLevel, codingPath: [])
    }

    // MARK: Nested values

    func describe(_ token: JSONToken) -> String { message.pointee.describe(token) }

    func value<Value: Decodable>(_ type: Value.Type, _ token: JSONToken, path: @autoclosure () -> [any CodingKey])
        throws -> Value
    {
        return try Value(from: ValueDecoder(decoder: self, token: token, codingPath: path()))
    }

    func keyed<Key: CodingKey>(_ token: JSONToken, path: @autoclosure () -> [any CodingKey]) throws
        -> KeyedDecodingContainer<Key>
    {
        guard token.kind == .object else { throw message.pointee.mismatch(token, "an object", path: path()) }
        return KeyedDecodingContainer(ObjectContainer<Key>(decoder: self, token: token, codingPath: path()))
    }

    func unkeyed(_ token: JSONToken, path: @autoclosure () -> [any CodingKey]) throws -> any UnkeyedDecodingContainer {
        guard token.kind == .array else { throw message.pointee.mismatch(token, "an array", path: path()) }
        return ArrayContainer(decoder: self, token: token, codingPath: path())
    }
}

/// One scanned message and the clock, plain values only (copying it counts no references).
/// `EventDecoder` keeps it on the stack for one decode; the decoder and its containers point at
/// it.
struct StrictMessage {
    let members: MessageMembers
    let now: Date

    var bytes: UnsafeRawBufferPointer { members.bytes }

    /// Longest quoted input in a detail.
    static let quoteLimit = 40

    func describe(_ token: JSONToken) -> String {
        switch token.kind {
        case .object: return "an object"
        case .array: return "an array"
        default:
            let text = String(
                decoding: UnsafeRawBufferPointer(rebasing: bytes[token.start..<token.end]), as: UTF8.self)
            return text.count > Self.quoteLimit ? "\(text.prefix(Self.quoteLimit))…" : text
        }
    }

    func mismatch(_ token: JSONToken, _ expected: String, path: @autoclosure () -> [any CodingKey]) -> DecodingError {
        if token.kind == .null {
            return .valueNotFound(
                Any.self,
                .init(codingPath: path(), debugDescription: "expected \(expected), got null (null is not absent)"))
        }
        return .typeMismatch(
            Any.self, .init(codingPath: path(), debugDescription: "expected \(expected), got \(describe(token))"))
    }

    /// `null` is never a value here: an optional member given as `null` is rejected, not absent.
    func decodeNil(_ token: JSONToken, path: @autoclosure () -> [any CodingKey]) throws -> Bool {
        guard token.kind != .null else {
            throw DecodingError.valueNotFound(
                Any.self,
                .init(codingPath: path(), debugDescription: "null is not absent: give a value or leave it out"))
        }
        return false
    }

    @inline(__always)
    func bool(_ token: JSONToken, path: @autoclosure () -> [any CodingKey]) throws -> Bool {
        switch token.kind {
        case .true: return true
        case .false: return false
        default: throw mismatch(token, "true or false", path: path())
        }
    }

    @inline(__always)
    func string(_ token: JSONToken, path: @autoclosure () -> [any CodingKey]) throws -> String {
        guard token.kind == .string else { throw mismatch(token, "a string", path: path()) }
        if !token.hasEscapes {
            return String(
                decoding: UnsafeRawBufferPointer(rebasing: bytes[(token.start + 1)..<(token.end - 1)]), as: UTF8.self)
        }
        return String(decoding: JSONScanner.decodedString(token, in: bytes), as: UTF8.self)
    }

    /// The nearest `Double`; a number beyond its range is an error, never infinity.
    @inline(__always)
    func double(_ token: JSONToken, path: @autoclosure () -> [any CodingKey]) throws -> Double {
        guard token.kind == .number else { throw mismatch(token, "a number", path: path()) }
        let value = JSONNumber.double(bytes, token)
        guard value.isFinite else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: path(), debugDescription: "\(describe(token)) is beyond the range of a double"))
        }
        return value
    }

    /// Integer syntax only (`1.0` and `1e0` are rejected), within `Value`'s range and ±10^18.
    @inline(__always)
    func integer<Value: FixedWidthInteger>(_ token: JSONToken, path: @autoclosure () -> [any CodingKey]) throws -> Value
    {
        guard token.kind == .number, token.isInteger else { throw mismatch(token, "an integer", path: path()) }
        guard let wide = JSONNumber.integer(bytes, token), let value = Value(exactly: wide) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: path(), debugDescription: "\(describe(token)) does not fit \(Value.self)"))
        }
        return value
    }

}

// MARK: - Containers

/// The top-level object: its members are the `Field` slots the scan filled.
struct TopLevelContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let message: UnsafePointer<StrictMessage>
    /// Unmanaged like the body's bytes: nothing read from a message outlives its decoding.
    private let reference: Unmanaged<StrictEventDecoder>
    private var decoder: StrictEventDecoder { reference.takeUnretainedValue() }
    var codingPath: [any CodingKey] { [] }

    init(decoder: StrictEventDecoder) {
        self.init(message: decoder.message, reference: .passUnretained(decoder))
    }

    init(message: UnsafePointer<StrictMessage>, reference: Unmanaged<StrictEventDecoder>) {
        self.message = message
        self.reference = reference
    }

    var allKeys: [Key] {
        Field.allCases.filter { message.pointee.members.has($0) }.compactMap { Key(stringValue: $0.name) }
    }

    @inline(__always)
    private func field(_ key: Key) -> Field? {
        if let field = key as? Field { return field }
        return Field(stringValue: key.stringValue)
    }

    @inline(__always)
    func contains(_ key: Key) -> Bool {
        guard let field = field(key) else { return false }
        return message.pointee.members.has(field)
    }

    @inline(__always)
    func token(_ key: Key) throws -> JSONToken {
        guard let field = field(key), let token = message.pointee.members.token(field) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: [], debugDescription: "required field is missing"))
        }
        return token
    }

    func decodeNil(forKey key: Key) throws -> Bool { try message.pointee.decodeNil(token(key), path: [key]) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try message.pointee.bool(token(key), path: [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try message.pointee.string(token(key), path: [key])
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try message.pointee.double(token(key), path: [key])
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        Float(try message.pointee.double(token(key), path: [key]))
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try message.pointee.integer(token(key), path: [key])
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try message.pointee.integer(token(key), path: [key])
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try message.pointee.integer(token(key), path: [key])
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try message.pointee.integer(token(key), path: [key])
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try message.pointee.integer(token(key), path: [key])
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try message.pointee.integer(token(key), path: [key])
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try message.pointee.integer(token(key), path: [key])
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try message.pointee.integer(token(key), path: [key])
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try message.pointee.integer(token(key), path: [key])
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try message.pointee.integer(token(key), path: [key])
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.value(type, token(key), path: [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try decoder.keyed(token(key), path: [key])
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try arrayContainer(forKey: key)
    }

    /// `nestedUnkeyedContainer(forKey:)` without the existential.
    func arrayContainer(forKey key: Key) throws -> ArrayContainer {
        let token = try token(key)
        guard token.kind == .array else { throw message.pointee.mismatch(token, "an array", path: [key]) }
        let field = field(key)
        if field == .features, let count = message.pointee.members.preparsedFeatureCount {
            return ArrayContainer(
                message: message, reference: reference, token: token, codingPath: [], key: field,
                preparsedCount: count)
        }
        return ArrayContainer(
            message: message, reference: reference, token: token, codingPath: field == nil ? [key] : [], key: field)
    }

    func superDecoder() throws -> any Decoder { decoder }

    /// The UTF-8 content of a string member, escapes resolved, without building a `String`.
    @inline(__always)
    func withUTF8<Result>(forKey key: Key, _ body: (UnsafeRawBufferPointer) -> Result) throws -> Result {
        let token = try token(key)
        guard token.kind == .string else { throw message.pointee.mismatch(token, "a string", path: [key]) }
        if token.hasEscapes {
            return JSONScanner.decodedString(token, in: message.pointee.bytes).withUnsafeBytes(body)
        }
        return body(UnsafeRawBufferPointer(rebasing: message.pointee.bytes[(token.start + 1)..<(token.end - 1)]))
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(decoder: decoder, token: try token(key), codingPath: [key])
    }
}

/// The elements of an array. `count` is known up front (the elements are walked once), so a
/// caller can check a length before reading any element.
struct ArrayContainer: UnkeyedDecodingContainer {
    let message: UnsafePointer<StrictMessage>
    /// Unmanaged like the body's bytes: nothing read from a message outlives its decoding.
    private let reference: Unmanaged<StrictEventDecoder>
    private var decoder: StrictEventDecoder { reference.takeUnretainedValue() }
    let token: JSONToken
    /// The path of the array: a top-level member's (`key`), or another (`nestedPath`). Kept
    /// apart so a top-level member's array allocates no path and copies without counting.
    private let nestedPath: NestedPath?
    private let key: Field?
    var codingPath: [any CodingKey] { key.map { [$0] } ?? nestedPath?.path ?? [] }

    private final class NestedPath {
        let path: [any CodingKey]
        init(_ path: [any CodingKey]) { self.path = path }
    }
    let count: Int?
    private(set) var currentIndex = 0
    private var elements: ArrayElements
    /// How many elements `elements` has stepped over.
    private var walked = 0
    /// Set when the scan converted every element (`features`): values come from there.
    private let preparsed: Bool

    init(decoder: StrictEventDecoder, token: JSONToken, codingPath: [any CodingKey]) {
        self.init(message: decoder.message, reference: .passUnretained(decoder), token: token, codingPath: codingPath)
    }

    init(
        message: UnsafePointer<StrictMessage>, reference: Unmanaged<StrictEventDecoder>, token: JSONToken,
        codingPath: [any CodingKey], key: Field? = nil, preparsedCount: Int? = nil
    ) {
        self.message = message
        self.reference = reference
        self.token = token
        self.nestedPath = codingPath.isEmpty ? nil : NestedPath(codingPath)
        self.key = key
        self.elements = ArrayElements(message.pointee.bytes, token)
        if let preparsedCount {
            count = preparsedCount
            preparsed = preparsedCount <= message.pointee.members.featureValues.count
        } else {
            var walk = ArrayElements(message.pointee.bytes, token)
            var count = 0
            while walk.next() != nil { count += 1 }
            self.count = count
            preparsed = false
        }
    }

    var isAtEnd: Bool { currentIndex >= count! }

    /// The element read last (for a rejection to quote), found by walking the array again.
    var lastElement: JSONToken? {
        guard currentIndex > 0 else { return nil }
        var walk = ArrayElements(message.pointee.bytes, token)
        for _ in 0..<(currentIndex - 1) { _ = walk.next() }
        return walk.next()
    }

    /// Every element, when the scan converted them all (`features`) and none was read yet.
    var preparsedValues: UnsafeBufferPointer<Double>? {
        guard preparsed, currentIndex == 0 else { return nil }
        return UnsafeBufferPointer(rebasing: message.pointee.members.featureValues[0..<count!])
    }

    private var path: [any CodingKey] { codingPath + [IndexKey(currentIndex)] }

    private mutating func next() throws -> JSONToken {
        // Elements read from the scan's numbers were not walked: catch up.
        while walked < currentIndex {
            _ = elements.next()
            walked += 1
        }
        walked += 1
        guard let element = elements.next() else {
            throw DecodingError.valueNotFound(
                Any.self, .init(codingPath: path, debugDescription: "unkeyed container is at its end"))
        }
        currentIndex += 1
        return element
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        let (copy, walkedBefore) = (elements, walked)
        let element = try next()
        if try message.pointee.decodeNil(element, path: path) { return true }
        // Not null: leave it for the next decode.
        (elements, walked) = (copy, walkedBefore)
        currentIndex -= 1
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try message.pointee.bool(next(), path: path) }
    mutating func decode(_ type: String.Type) throws -> String { try message.pointee.string(next(), path: path) }

    mutating func decode(_ type: Double.Type) throws -> Double {
        if preparsed {
            let index = currentIndex
            guard index < count! else {
                throw DecodingError.valueNotFound(
                    Double.self, .init(codingPath: path, debugDescription: "unkeyed container is at its end"))
            }
            currentIndex += 1
            return message.pointee.members.featureValues[index]
        }
        return try message.pointee.double(next(), path: path)
    }

    mutating func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
    mutating func decode(_ type: Int.Type) throws -> Int { try message.pointee.integer(next(), path: path) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try message.pointee.integer(next(), path: path) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try message.pointee.integer(next(), path: path) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try message.pointee.integer(next(), path: path) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try message.pointee.integer(next(), path: path) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try message.pointee.integer(next(), path: path) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try message.pointee.integer(next(), path: path) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try message.pointee.integer(next(), path: path) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try message.pointee.integer(next(), path: path) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try message.pointee.integer(next(), path: path) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if preparsed, T.self == Double.self { return try decode(Double.self) as! T }
        let path = self.path
        return try decoder.value(type, next(), path: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let path = self.path
        return try decoder.keyed(next(), path: path)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let path = self.path
        return try decoder.unkeyed(next(), path: path)
    }

    mutating func superDecoder() throws -> any Decoder {
        let path = self.path
        return ValueDecoder(decoder: decoder, token: try next(), codingPath: path)
    }
}

/// An object below the top level: members found by walking it (they are few).
private struct ObjectContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: StrictEventDecoder
    let codingPath: [any CodingKey]
    private let entries: [(name: String, value: JSONToken)]

    init(decoder: StrictEventDecoder, token: JSONToken, codingPath: [any CodingKey]) {
        self.decoder = decoder
        self.codingPath = codingPath
        var entries: [(String, JSONToken)] = []
        var scanner = JSONScanner(decoder.bytes, at: token.start)
        // Scanned before at a greater or equal depth, so this cannot fail.
        try? scanner.scanMembers(depth: 1) { (key: JSONToken, value: JSONToken) throws(JSONSyntaxError) in
            entries.append((String(decoding: JSONScanner.decodedString(key, in: decoder.bytes), as: UTF8.self), value))
        }
        self.entries = entries
    }

    var allKeys: [Key] { entries.compactMap { Key(stringValue: $0.name) } }

    func contains(_ key: Key) -> Bool { entries.contains { $0.name == key.stringValue } }

    private func token(_ key: Key) throws -> JSONToken {
        guard let entry = entries.first(where: { $0.name == key.stringValue }) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "member is missing"))
        }
        return entry.value
    }

    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

    func decodeNil(forKey key: Key) throws -> Bool {
        try decoder.message.pointee.decodeNil(token(key), path: path(key))
    }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try decoder.message.pointee.bool(token(key), path: path(key))
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try decoder.message.pointee.string(token(key), path: path(key))
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try decoder.message.pointee.double(token(key), path: path(key))
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        Float(try decoder.message.pointee.double(token(key), path: path(key)))
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try decoder.message.pointee.integer(token(key), path: path(key))
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try decoder.message.pointee.integer(token(key), path: path(key))
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try decoder.message.pointee.integer(token(key), path: path(key))
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try decoder.message.pointee.integer(token(key), path: path(key))
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try decoder.message.pointee.integer(token(key), path: path(key))
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try decoder.message.pointee.integer(token(key), path: path(key))
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try decoder.message.pointee.integer(token(key), path: path(key))
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try decoder.message.pointee.integer(token(key), path: path(key))
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try decoder.message.pointee.integer(token(key), path: path(key))
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try decoder.message.pointee.integer(token(key), path: path(key))
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.value(type, token(key), path: path(key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try decoder.keyed(token(key), path: path(key))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder.unkeyed(token(key), path: path(key))
    }

    func superDecoder() throws -> any Decoder {
        guard let token = entries.first?.value else { return decoder }
        return ValueDecoder(decoder: decoder, token: token, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(decoder: decoder, token: try token(key), codingPath: path(key))
    }
}

/// A `Decoder` positioned at one nested value (for `Decodable` types other than the primitives).
private struct ValueDecoder: Decoder, SingleValueDecodingContainer {
    let decoder: StrictEventDecoder
    let token: JSONToken
    let codingPath: [any CodingKey]

    var userInfo: [CodingUserInfoKey: Any] { decoder.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        try decoder.keyed(token, path: codingPath)
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try decoder.unkeyed(token, path: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { token.kind == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try decoder.message.pointee.bool(token, path: codingPath) }
    func decode(_ type: String.Type) throws -> String { try decoder.message.pointee.string(token, path: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try decoder.message.pointee.double(token, path: codingPath) }
    func decode(_ type: Float.Type) throws -> Float {
        Float(try decoder.message.pointee.double(token, path: codingPath))
    }
    func decode(_ type: Int.Type) throws -> Int { try decoder.message.pointee.integer(token, path: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.message.pointee.integer(token, path: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.message.pointee.integer(token, path: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.message.pointee.integer(token, path: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.message.pointee.integer(token, path: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.message.pointee.integer(token, path: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.message.pointee.integer(token, path: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.message.pointee.integer(token, path: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.message.pointee.integer(token, path: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.message.pointee.integer(token, path: codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
}

/// An array index as a coding key.
private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue!)" }

    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
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
