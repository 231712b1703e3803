import Foundation

/// Message headers in the order they came, with repeated names kept. Names are case-sensitive,
/// as in cnats 3.x and the NATS protocol.
public struct NATSHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(name: String, value: String)]

    public init() { fields = [] }

    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { (name: $0.0, value: $0.1) }
    }

    /// The first value for `name`.
    public subscript(name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    public func values(for name: String) -> [String] {
        fields.filter { $0.name == name }.map(\.value)
    }

    public mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    /// Replaces every value of `name` with one.
    public mutating func set(_ name: String, _ value: String) {
        fields.removeAll { $0.name == name }
        fields.append((name: name, value: value))
    }

    public var isEmpty: Bool { fields.isEmpty }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }

    public static func == (lhs: NATSHeaders, rhs: NATSHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

extension NATSHeaders {
    /// Parses a NATS header block as it travels on the wire and as JetStream stores it
    /// (`NATS/1.0[ status[ description]]\r\nName: value\r\n…\r\n\r\n`): every line in order, repeated
    /// names kept, values trimmed of surrounding white space, a line that starts with white space
    /// continuing the previous value. An inline status (`NATS/1.0 408 Request Timeout`) becomes the
    /// headers `Status` and `Description`, as cnats reports it.
    public init(headerBlock bytes: some Collection<UInt8>) {
        self.init()
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")[...]
        guard let versionLine = lines.popFirst() else { return }
        let statusPart = versionLine.drop { $0 != " " }.drop { $0 == " " }
        if !statusPart.isEmpty {
            let code = statusPart.prefix { $0 != " " }
            let description = statusPart.dropFirst(code.count).trimmingCharacters(in: .whitespaces)
            add("Status", String(code))
            if !description.isEmpty { add("Description", description) }
        }
        for line in lines where !line.isEmpty {
            if let first = line.unicodeScalars.first, first == " " || first == "\t", !fields.isEmpty {
                let continued = line.trimmingCharacters(in: .whitespaces)
                fields[fields.count - 1].value += fields[fields.count - 1].value.isEmpty ? continued : " " + continued
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            add(String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }
}
