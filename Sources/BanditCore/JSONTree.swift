/// A whole JSON document read by the same strict scanner as the messages (RFC 8259 with the
/// I-JSON rules of RFC 7493): well-formed UTF-8 without a byte order mark, no duplicate member
/// names in any object, no escaped lone surrogates, nesting at most `JSONScanner.maxDepth`.
/// For files read once (the configuration), so it builds a tree; messages never do.
public indirect enum JSONTree: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The nearest `Double`, whether the text was integer syntax (no fraction, no exponent), and
    /// the text itself.
    case number(Double, isInteger: Bool, text: String)
    case string(String)
    case array([JSONTree])
    /// Members in document order; names are unique.
    case object([(name: String, value: JSONTree)])

    public static func == (left: JSONTree, right: JSONTree) -> Bool {
        switch (left, right) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(_, _, let a), .number(_, _, let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.map(\.name) == b.map(\.name) && a.map(\.value) == b.map(\.value)
        default: false
        }
    }

    /// What a value is, for error messages.
    public var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The member `name` of an object.
    public subscript(name: String) -> JSONTree? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.name == name }?.value
    }

    /// Parses `bytes`. A duplicate member name is an error naming its path (`nats.max_deliver`,
    /// `policies[1].name`).
    public static func parse(_ bytes: [UInt8]) throws(JSONTreeError) -> JSONTree {
        let result = bytes.withUnsafeBytes { buffer in Result { () throws(JSONTreeError) in try parse(buffer) } }
        return try result.get()
    }

    private static func parse(_ buffer: UnsafeRawBufferPointer) throws(JSONTreeError) -> JSONTree {
        do {
            if let offset = UTF8Validation.firstInvalidOffset(buffer) {
                throw JSONTreeError(path: "", offset: offset, message: "invalid UTF-8")
            }
            if buffer.count >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF {
                throw JSONTreeError(path: "", offset: 0, message: "byte order mark (not allowed in JSON)")
            }
            var builder = Builder(scanner: JSONScanner(buffer))
            builder.scanner.skipWhitespace()
            let value = try builder.value(path: "", depth: 1)
            builder.scanner.skipWhitespace()
            guard builder.scanner.isAtEnd else {
                throw JSONTreeError(
                    path: "", offset: builder.scanner.index,
                    message: "expected end of input after the JSON value, got \(builder.scanner.found())")
            }
            return value
        }
    }

    private struct Builder {
        var scanner: JSONScanner

        func syntax(_ error: JSONSyntaxError, _ path: String) -> JSONTreeError {
            JSONTreeError(path: path, offset: error.offset, message: error.message)
        }

        mutating func value(path: String, depth: Int) throws(JSONTreeError) -> JSONTree {
            guard depth <= JSONScanner.maxDepth else {
                throw JSONTreeError(
                    path: path, offset: scanner.index, message: "nesting deeper than \(JSONScanner.maxDepth)")
            }
            let bytes = scanner.bytes
            switch scanner.peek() {
            case UInt8(ascii: "{"):
                return try object(path: path, depth: depth)
            case UInt8(ascii: "["):
                return try array(path: path, depth: depth)
            default:
                let token: JSONToken
                do throws(JSONSyntaxError) {
                    token = try scanner.scanValue(depth: depth)
                } catch {
                    throw syntax(error, path)
                }
                switch token.kind {
                case .string:
                    return .string(String(decoding: JSONScanner.decodedString(token, in: bytes), as: UTF8.self))
                case .number:
                    let text = String(
                        decoding: UnsafeRawBufferPointer(rebasing: bytes[token.start..<token.end]), as: UTF8.self)
                    return .number(JSONNumber.double(bytes, token), isInteger: token.isInteger, text: text)
                case .true: return .bool(true)
                case .false: return .bool(false)
                default: return .null
                }
            }
        }

        mutating func array(path: String, depth: Int) throws(JSONTreeError) -> JSONTree {
            let start = scanner.index
            scanner.index += 1
            scanner.skipWhitespace()
            var items: [JSONTree] = []
            if scanner.peek() == UInt8(ascii: "]") {
                scanner.index += 1
                return .array(items)
            }
            while true {
                items.append(try value(path: "\(path)[\(items.count)]", depth: depth + 1))
                scanner.skipWhitespace()
                guard let byte = scanner.peek() else {
                    throw JSONTreeError(
                        path: path, offset: scanner.index, message: "unterminated array starting at byte \(start)")
                }
                scanner.index += 1
                if byte == UInt8(ascii: "]") { return .array(items) }
                guard byte == UInt8(ascii: ",") else {
                    scanner.index -= 1
                    throw JSONTreeError(
                        path: path, offset: scanner.index,
                        message: "expected ',' or ']' in an array, got \(scanner.found())")
                }
                scanner.skipWhitespace()
            }
        }

        mutating func object(path: String, depth: Int) throws(JSONTreeError) -> JSONTree {
            let start = scanner.index
            let bytes = scanner.bytes
            scanner.index += 1
            scanner.skipWhitespace()
            var members: [(name: String, value: JSONTree)] = []
            var names = Set<String>()
            if scanner.peek() == UInt8(ascii: "}") {
                scanner.index += 1
                return .object(members)
            }
            while true {
                guard scanner.peek() == UInt8(ascii: "\"") else {
                    throw JSONTreeError(
                        path: path, offset: scanner.index,
                        message: "expected a member name (a string), got \(scanner.found())")
                }
                let key: JSONToken
                do throws(JSONSyntaxError) {
                    key = try scanner.scanString()
                    scanner.skipWhitespace()
                    try scanner.expect(UInt8(ascii: ":"), "':' after a member name")
                } catch {
                    throw syntax(error, path)
                }
                scanner.skipWhitespace()
                let name = String(decoding: JSONScanner.decodedString(key, in: bytes), as: UTF8.self)
                let memberPath = path.isEmpty ? name : "\(path).\(name)"
                guard names.insert(name).inserted else {
                    throw JSONTreeError(
                        path: memberPath, offset: key.start, message: "duplicate key (each key may appear once)")
                }
                members.append((name, try value(path: memberPath, depth: depth + 1)))
                scanner.skipWhitespace()
                guard let byte = scanner.peek() else {
                    throw JSONTreeError(
                        path: path, offset: scanner.index, message: "unterminated object starting at byte \(start)")
                }
                scanner.index += 1
                if byte == UInt8(ascii: "}") { return .object(members) }
                guard byte == UInt8(ascii: ",") else {
                    scanner.index -= 1
                    throw JSONTreeError(
                        path: path, offset: scanner.index,
                        message: "expected ',' or '}' in an object, got \(scanner.found())")
                }
                scanner.skipWhitespace()
            }
        }
    }
}

/// Why a document is not JSON we accept. `path` names the member (empty for the document).
public struct JSONTreeError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let offset: Int
    public let message: String

    public var description: String { "\(path.isEmpty ? "" : "\(path): ")\(message) (byte \(offset))" }
}
