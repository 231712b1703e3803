import BanditCore
import Foundation

/// One configuration setting, declared once: its key in the file, its environment variable, its
/// type and range, its default, what it is for, and where it lands in `BanditdConfiguration`.
/// The loader (file and environment), every error message and config/README.md's table are made
/// from these declarations (`ConfigurationSettings.all`).
public struct Setting: Sendable {
    /// Dotted key in the file, e.g. `nats.max_deliver`.
    public let key: String
    /// The environment variable that overrides it, if any.
    public let environment: String?
    /// The type and range as the reference table states it, e.g. `integer 1…1000`.
    public let type: String
    /// The default as the reference table states it (`none` when absent).
    public let defaultText: String
    public let help: String
    /// Values are never echoed in errors.
    public let isSecret: Bool

    let keyPath: PartialKeyPath<BanditdConfiguration> & Sendable
    let defaultValue: any Sendable
    let applyJSON: @Sendable (JSONTree, inout BanditdConfiguration) throws(ValueError) -> Void
    let applyText: @Sendable (String, inout BanditdConfiguration) throws(ValueError) -> Void

    /// The section (`nats`) and the name within it (`max_deliver`); top-level keys have no dot.
    var path: [String] { key.split(separator: ".").map(String.init) }

    init<Value: Sendable>(
        _ key: String, environment: String?, _ kind: SettingKind<Value>, default value: Value,
        at keyPath: WritableKeyPath<BanditdConfiguration, Value> & Sendable, help: String
    ) {
        self.key = key
        self.environment = environment
        self.type = kind.description
        self.defaultText = kind.format(value)
        self.help = help
        self.isSecret = kind.isSecret
        self.keyPath = keyPath
        self.defaultValue = value
        applyJSON = { (json, configuration) throws(ValueError) in
            configuration[keyPath: keyPath] = try kind.fromJSON(json)
        }
        applyText = { (text, configuration) throws(ValueError) in
            configuration[keyPath: keyPath] = try kind.fromText(text)
        }
    }
}

/// A failed conversion of one value; the loader adds the key or variable.
struct ValueError: Error {
    let message: String
}

/// How a setting's value is read from the file (JSON) and from the environment (text), and how
/// the reference table describes it.
struct SettingKind<Value: Sendable>: Sendable {
    let description: String
    let isSecret: Bool
    let fromJSON: @Sendable (JSONTree) throws(ValueError) -> Value
    let fromText: @Sendable (String) throws(ValueError) -> Value
    let format: @Sendable (Value) -> String

    /// Maps a kind's value (`Int` seconds → `Duration`), keeping its checks and description.
    func map<Other: Sendable>(
        _ transform: @escaping @Sendable (Value) -> Other, back: @escaping @Sendable (Other) -> Value
    ) -> SettingKind<Other> {
        let fromJSON = self.fromJSON
        let fromText = self.fromText
        let format = self.format
        return SettingKind<Other>(
            description: description, isSecret: isSecret,
            fromJSON: { (json) throws(ValueError) in transform(try fromJSON(json)) },
            fromText: { (text) throws(ValueError) in transform(try fromText(text)) },
            format: { format(back($0)) })
    }
}

extension SettingKind where Value == Int {
    /// A JSON integer (integer syntax: `5.0` is not one) in `range`.
    static func integer(_ range: ClosedRange<Int>) -> SettingKind {
        let expected = "an integer in \(range.lowerBound)…\(range.upperBound)"
        return SettingKind(
            description: "integer \(range.lowerBound)…\(range.upperBound)", isSecret: false,
            fromJSON: { (json) throws(ValueError) in
                guard case .number(let value, true, let text) = json, let integer = Int(exactly: value) else {
                    throw ValueError(message: "must be \(expected) (got \(json.describedForError))")
                }
                guard range.contains(integer) else { throw ValueError(message: "must be \(expected) (got \(text))") }
                return integer
            },
            fromText: { (text) throws(ValueError) in
                guard let integer = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(integer) else {
                    throw ValueError(message: "must be \(expected) (got \"\(text)\")")
                }
                return integer
            },
            format: { String($0) })
    }
}

extension SettingKind where Value == Duration {
    static func seconds(_ range: ClosedRange<Int>) -> SettingKind {
        SettingKind<Int>.integer(range).map({ .seconds($0) }, back: { Int($0.components.seconds) })
    }

    static func milliseconds(_ range: ClosedRange<Int>) -> SettingKind {
        SettingKind<Int>.integer(range).map(
            { .milliseconds($0) },
            back: { Int($0.components.seconds) * 1000 + Int($0.components.attoseconds / 1_000_000_000_000_000) })
    }
}

extension SettingKind where Value == Bool {
    static var boolean: SettingKind {
        SettingKind(
            description: "boolean", isSecret: false,
            fromJSON: { (json) throws(ValueError) in
                guard case .bool(let value) = json else {
                    throw ValueError(message: "must be true or false (got \(json.kind))")
                }
                return value
            },
            fromText: { (text) throws(ValueError) in
                switch text.lowercased() {
                case "1", "true", "yes", "on": return true
                case "0", "false", "no", "off": return false
                default: throw ValueError(message: "must be true or false (got \"\(text)\")")
                }
            },
            format: { $0 ? "true" : "false" })
    }
}

extension SettingKind where Value == String {
    /// A string; `secret` ones are never echoed.
    static func text(nonEmpty: Bool = false, secret: Bool = false) -> SettingKind {
        SettingKind(
            description: secret ? "string (secret)" : nonEmpty ? "non-empty string" : "string", isSecret: secret,
            fromJSON: { (json) throws(ValueError) in
                guard case .string(let text) = json else {
                    throw ValueError(message: "must be a string (got \(json.kind))")
                }
                if nonEmpty, text.isEmpty { throw ValueError(message: "must not be empty") }
                return text
            },
            fromText: { (text) throws(ValueError) in text },
            format: { $0 })
    }

    /// A JetStream durable-name prefix: no spaces, dots or wildcards (they would change the API
    /// subject), at most 200 characters.
    static var natsName: SettingKind {
        let check: @Sendable (String) throws(ValueError) -> String = { (text) throws(ValueError) in
            let forbidden: Set<Character> = [".", "*", ">", " ", "\t", "/", "\\"]
            guard !text.isEmpty, !text.contains(where: { forbidden.contains($0) || $0.isNewline }), text.count <= 200
            else {
                throw ValueError(
                    message: "must be a NATS name: no spaces, '.', '*', '>', '/' or '\\' (got \"\(text)\")")
            }
            return text
        }
        let plain = SettingKind.text(nonEmpty: true)
        return SettingKind(
            description: "NATS name (no spaces, `.`, `*`, `>`, `/`, `\\`)", isSecret: false,
            fromJSON: { (json) throws(ValueError) in try check(try plain.fromJSON(json)) },
            fromText: { (text) throws(ValueError) in try check(text) },
            format: { $0 })
    }
}

extension SettingKind where Value == String? {
    /// An optional string (absent by default; `null` in the file also means absent).
    static func optionalText(secret: Bool = false) -> SettingKind {
        let plain = SettingKind<String>.text(secret: secret)
        return SettingKind(
            description: plain.description, isSecret: secret,
            fromJSON: { (json) throws(ValueError) in json == .null ? nil : try plain.fromJSON(json) },
            fromText: { (text) throws(ValueError) in text },
            format: { $0 ?? "none" })
    }
}

extension SettingKind where Value == ListenAddress? {
    /// `host:port` to listen on (see `ListenAddress`); absent (or `null`) is off.
    static var listenAddress: SettingKind {
        SettingKind(
            description: "host:port (IP literal or `localhost`)", isSecret: false,
            fromJSON: { (json) throws(ValueError) in
                if json == .null { return nil }
                guard case .string(let text) = json, !text.isEmpty else {
                    throw ValueError(message: "must be a host:port string (got \(json.kind))")
                }
                return try ListenAddress(parsing: text)
            },
            fromText: { (text) throws(ValueError) in try ListenAddress(parsing: text) },
            format: { $0.map { "\($0)" } ?? "none" })
    }
}

extension SettingKind where Value == [String] {
    /// A non-empty list of non-empty strings; comma-separated in the environment.
    static var list: SettingKind {
        SettingKind(
            description: "list of strings (comma-separated in the environment)", isSecret: false,
            fromJSON: { (json) throws(ValueError) in
                guard case .array(let items) = json else {
                    throw ValueError(message: "must be an array of strings (got \(json.kind))")
                }
                var strings: [String] = []
                for item in items {
                    guard case .string(let text) = item, !text.isEmpty else {
                        throw ValueError(message: "must be an array of non-empty strings")
                    }
                    strings.append(text)
                }
                guard !strings.isEmpty else { throw ValueError(message: "must list at least one entry") }
                return strings
            },
            fromText: { (text) throws(ValueError) in
                let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                    !$0.isEmpty
                }
                guard !items.isEmpty else { throw ValueError(message: "must list at least one entry") }
                return items
            },
            format: { "[" + $0.map { "\"\($0)\"" }.joined(separator: ", ") + "]" })
    }
}

extension SettingKind where Value: RawRepresentable & CaseIterable, Value.RawValue == String {
    /// One of an enum's raw values (case-insensitive in the environment).
    static func choice(_: Value.Type) -> SettingKind {
        typealias Choice = Value
        let choices = Choice.allCases.map(\.rawValue).joined(separator: ", ")
        return SettingKind(
            description: "one of " + Choice.allCases.map { "`\($0.rawValue)`" }.joined(separator: ", "),
            isSecret: false,
            fromJSON: { (json) throws(ValueError) in
                guard case .string(let text) = json, let value = Choice(rawValue: text) else {
                    throw ValueError(message: "must be one of \(choices) (got \(json.describedForError))")
                }
                return value
            },
            fromText: { (text) throws(ValueError) in
                guard let value = Choice(rawValue: text.lowercased()) else {
                    throw ValueError(message: "must be one of \(choices) (got \"\(text)\")")
                }
                return value
            },
            format: { $0.rawValue })
    }
}

extension JSONTree {
    /// The value for an error message: numbers and short strings as written, else the kind.
    var describedForError: String {
        switch self {
        case .number(_, _, let text): text
        case .string(let text) where text.count <= 40: "\"\(text)\""
        case .bool(let value): value ? "true" : "false"
        default: kind
        }
    }
}
