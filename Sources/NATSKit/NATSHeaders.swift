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
        // Byte by byte: this runs for every delivered message that has headers.
        let block = Array(bytes)
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        func trimmed(_ range: Range<Int>) -> Range<Int> {
            var lower = range.lowerBound
            var upper = range.upperBound
            while lower < upper && isBlank(block[lower]) { lower += 1 }
            while upper > lower && isBlank(block[upper - 1]) { upper -= 1 }
            return lower..<upper
        }
        func text(_ range: Range<Int>) -> String { String(decoding: block[range], as: UTF8.self) }
        var lines: [Range<Int>] = []
        var start = 0
        var index = 0
        while index + 1 < block.count {
            if block[index] == UInt8(ascii: "\r") && block[index + 1] == UInt8(ascii: "\n") {
                lines.append(start..<index)
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        if start < block.count { lines.append(start..<block.count) }
        guard let versionLine = lines.first else { return }
        // `NATS/1.0 408 Request Timeout`: an inline status.
        if let space = block[versionLine].firstIndex(of: UInt8(ascii: " ")) {
            let status = trimmed(space..<versionLine.upperBound)
            if !status.isEmpty {
                let codeEnd = block[status].firstIndex(of: UInt8(ascii: " ")) ?? status.upperBound
                add("Status", text(status.lowerBound..<codeEnd))
                let description = trimmed(codeEnd..<status.upperBound)
                if !description.isEmpty { add("Description", text(description)) }
            }
        }
        for line in lines.dropFirst() where !line.isEmpty {
            if isBlank(block[line.lowerBound]), !fields.isEmpty {
                let continued = text(trimmed(line))
                fields[fields.count - 1].value += fields[fields.count - 1].value.isEmpty ? continued : " " + continued
                continue
            }
            guard let colon = block[line].firstIndex(of: UInt8(ascii: ":")) else { continue }
            add(text(line.lowerBound..<colon), text(trimmed(colon + 1..<line.upperBound)))
        }
    }
}
