/// A configuration file's JSON, kept as a tree so that types, ranges and unknown keys can be
/// checked with the key path in every message.
enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// What a value is, for error messages.
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A failed conversion of one value; the reader adds the key path.
struct ValueError: Error {
    let message: String
}

extension JSONValue {
    func string(secret: Bool = false, nonEmpty: Bool = false) throws(ValueError) -> String {
        guard case .string(let text) = self else { throw ValueError(message: "must be a string (got \(kind))") }
        if nonEmpty && text.isEmpty { throw ValueError(message: "must not be empty") }
        return text
    }

    func stringArray(nonEmpty: Bool) throws(ValueError) -> [String] {
        guard case .array(let items) = self else {
            throw ValueError(message: "must be an array of strings (got \(kind))")
        }
        var strings: [String] = []
        for item in items {
            guard case .string(let text) = item, !text.isEmpty else {
                throw ValueError(message: "must be an array of non-empty strings")
            }
            strings.append(text)
        }
        if nonEmpty && strings.isEmpty { throw ValueError(message: "must list at least one entry") }
        return strings
    }

    func number() throws(ValueError) -> Double {
        guard case .number(let value) = self, value.isFinite else {
            throw ValueError(message: "must be a number (got \(kind))")
        }
        return value
    }

    func integer(in range: ClosedRange<Int>) throws(ValueError) -> Int {
        guard case .number(let value) = self, value.rounded() == value, let integer = Int(exactly: value) else {
            throw ValueError(message: "must be an integer (got \(describeForError))")
        }
        guard range.contains(integer) else {
            throw ValueError(message: "must be in \(range.lowerBound)…\(range.upperBound) (got \(integer))")
        }
        return integer
    }

    func bool() throws(ValueError) -> Bool {
        guard case .bool(let value) = self else { throw ValueError(message: "must be true or false (got \(kind))") }
        return value
    }

    func enumeration<E: RawRepresentable & CaseIterable>(_: E.Type) throws(ValueError) -> E where E.RawValue == String {
        let choices = E.allCases.map(\.rawValue).joined(separator: ", ")
        guard case .string(let text) = self, let value = E(rawValue: text) else {
            throw ValueError(message: "must be one of \(choices) (got \(describeForError))")
        }
        return value
    }

    /// A JetStream durable-name prefix: no spaces, dots or wildcards (they would change the API subject).
    func natsName() throws(ValueError) -> String {
        let text = try string(nonEmpty: true)
        let forbidden: Set<Character> = [".", "*", ">", " ", "\t", "/", "\\"]
        guard !text.contains(where: { forbidden.contains($0) || $0.isNewline }), text.count <= 200 else {
            throw ValueError(message: "must be a NATS name: no spaces, '.', '*', '>', '/' or '\\' (got \"\(text)\")")
        }
        return text
    }

    private var describeForError: String {
        switch self {
        case .number(let value): "\(value)"
        case .string(let text): "\"\(text)\""
        default: kind
        }
    }
}

/// Reads the keys of one JSON object and remembers which were read, so `finish()` can reject
/// the ones nobody asked for.
struct ObjectReader {
    private let object: [String: JSONValue]
    private let path: String
    private var seen: Set<String> = []

    init(_ object: [String: JSONValue], path: String) {
        self.object = object
        self.path = path
    }

    private func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    mutating func read<T>(
        _ name: String, into target: inout T, _ convert: (JSONValue) throws -> T
    ) throws(ConfigurationError) {
        seen.insert(name)
        guard let value = object[name] else { return }
        do {
            target = try convert(value)
        } catch {
            throw ConfigurationError(key: key(name), message: (error as? ValueError)?.message ?? "\(error)")
        }
    }

    mutating func readOptional<T>(
        _ name: String, into target: inout T?, _ convert: (JSONValue) throws -> T
    ) throws(ConfigurationError) {
        seen.insert(name)
        guard let value = object[name], value != .null else { return }
        do {
            target = try convert(value)
        } catch {
            throw ConfigurationError(key: key(name), message: (error as? ValueError)?.message ?? "\(error)")
        }
    }

    mutating func required<T>(
        _ name: String, _ convert: (JSONValue) throws -> T
    ) throws(ConfigurationError) -> T? {
        guard object[name] != nil else { throw ConfigurationError(key: key(name), message: "is required") }
        var result: T?
        try readOptional(name, into: &result, convert)
        return result
    }

    mutating func object(_ name: String) throws(ConfigurationError) -> ObjectReader? {
        seen.insert(name)
        guard let value = object[name] else { return nil }
        guard case .object(let nested) = value else {
            throw ConfigurationError(key: key(name), message: "must be an object (got \(value.kind))")
        }
        return ObjectReader(nested, path: key(name))
    }

    mutating func array(_ name: String) throws(ConfigurationError) -> [JSONValue]? {
        seen.insert(name)
        guard let value = object[name] else { return nil }
        guard case .array(let items) = value else {
            throw ConfigurationError(key: key(name), message: "must be an array (got \(value.kind))")
        }
        return items
    }

    func finish() throws(ConfigurationError) {
        if let unknown = object.keys.sorted().first(where: { !seen.contains($0) }) {
            throw ConfigurationError(key: key(unknown), message: "unknown key (see config/README.md for the keys)")
        }
    }
}
