/// A strict RFC 8259 / I-JSON (RFC 7493) scanner over UTF-8 bytes that have already passed
/// `UTF8Validation`. It checks syntax and returns spans; values are interpreted later, and
/// only for the members a subject reads.
///
/// Stricter than RFC 8259 where I-JSON is: duplicate member names are rejected in every
/// object (after unescaping, so `"a"` and `"\u0061"` collide), and so are escapes of lone
/// surrogates. Nesting is limited to `maxDepth` so hostile input cannot exhaust the stack.
struct JSONScanner {
    static let maxDepth = 64

    let bytes: UnsafeRawBufferPointer
    var index: Int

    init(_ bytes: UnsafeRawBufferPointer, at index: Int = 0) {
        self.bytes = bytes
        self.index = index
    }

    var isAtEnd: Bool { index >= bytes.count }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// The byte at `index`, or nil at the end.
    @inline(__always)
    func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    func error(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(offset: offset ?? index, message: message)
    }

    /// "got" text for the byte at `index`.
    func found() -> String {
        guard let byte = peek() else { return "end of input" }
        if byte >= 0x21, byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return JSONScanner.hexByte(byte)
    }

    static func hexByte(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte 0x" + (byte < 0x10 ? "0" + hex : hex)
    }

    /// Expects `byte` at `index` and steps over it.
    mutating func expect(_ byte: UInt8, _ what: String) throws(JSONSyntaxError) {
        guard peek() == byte else { throw error("expected \(what), got \(found())") }
        index += 1
    }

    /// Scans one value starting at `index` (no leading whitespace).
    mutating func scanValue(depth: Int) throws(JSONSyntaxError) -> JSONToken {
        guard let byte = peek() else { throw error("expected a value, got end of input") }
        switch byte {
        case UInt8(ascii: "\""): return try scanString()
        case UInt8(ascii: "-"), 0x30...0x39: return try scanNumber()
        case UInt8(ascii: "{"): return try scanObject(depth: depth)
        case UInt8(ascii: "["): return try scanArray(depth: depth)
        case UInt8(ascii: "t"): return try scanLiteral("true", .true)
        case UInt8(ascii: "f"): return try scanLiteral("false", .false)
        case UInt8(ascii: "n"): return try scanLiteral("null", .null)
        default: throw error("expected a value, got \(found())")
        }
    }

    private mutating func scanLiteral(_ text: StaticString, _ kind: JSONToken.Kind) throws(JSONSyntaxError)
        -> JSONToken
    {
        let start = index
        let length = text.utf8CodeUnitCount
        guard bytes.count - index >= length,
            UnsafeRawBufferPointer(start: text.utf8Start, count: length).elementsEqual(
                UnsafeRawBufferPointer(rebasing: bytes[index..<(index + length)]))
        else { throw error("expected a value, got \(found())") }
        index += length
        return JSONToken(kind: kind, start: start, end: index)
    }

    mutating func scanString() throws(JSONSyntaxError) -> JSONToken {
        let start = index
        index += 1  // the opening quote
        var hasEscapes = false
        var highBits: UInt64 = 0
        while true {
            // Eight bytes at a time while none is a quote, a backslash or a control character.
            while index + 8 <= bytes.count {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let quotes = word ^ 0x2222_2222_2222_2222
                let backslashes = word ^ 0x5C5C_5C5C_5C5C_5C5C
                let special =
                    ((quotes &- 0x0101_0101_0101_0101) & ~quotes)
                    | ((backslashes &- 0x0101_0101_0101_0101) & ~backslashes)
                    | ((word &- 0x2020_2020_2020_2020) & ~word)
                let flagged = special & 0x8080_8080_8080_8080
                if flagged != 0 {
                    // Borrows only run upwards, so the lowest flagged byte is a real one.
                    index += flagged.trailingZeroBitCount >> 3
                    break
                }
                highBits |= word
                index += 8
            }
            guard index < bytes.count else { throw error("unterminated string starting at byte \(start)") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return JSONToken(
                    kind: .string, start: start, end: index, hasEscapes: hasEscapes,
                    isASCII: highBits & 0x8080_8080_8080_8080 == 0)
            } else if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                _ = try scanEscape()
            } else if byte < 0x20 {
                throw error("control character \(JSONScanner.hexByte(byte)) in a string (escape it)")
            } else {
                highBits |= UInt64(byte)
                index += 1
            }
        }
    }

    /// Steps over one escape sequence at `index` (a backslash) and returns its scalar.
    mutating func scanEscape() throws(JSONSyntaxError) -> Unicode.Scalar {
        let escapeStart = index
        index += 1
        guard let byte = peek() else { throw error("unterminated escape") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let first = try scanHex4()
            switch first {
            case 0xD800...0xDBFF:
                guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u")
                else { throw error("lone surrogate escape (high surrogate without low)", at: escapeStart) }
                index += 2
                let second = try scanHex4()
                guard (0xDC00...0xDFFF).contains(second) else {
                    throw error("lone surrogate escape (high surrogate without low)", at: escapeStart)
                }
                return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
            case 0xDC00...0xDFFF:
                throw error("lone surrogate escape (low surrogate without high)", at: escapeStart)
            default:
                return Unicode.Scalar(first)!
            }
        default:
            index -= 1
            throw error("invalid escape '\\' followed by \(found())")
        }
    }

    private mutating func scanHex4() throws(JSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek() else { throw error("expected 4 hex digits after \\u, got end of input") }
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("expected 4 hex digits after \\u, got \(found())")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Checks the grammar and, on the same walk over the digits, gathers what
    /// `JSONNumber.fastValue` needs, so most numbers are converted without a second pass.
    mutating func scanNumber() throws(JSONSyntaxError) -> JSONToken {
        let start = index
        var isInteger = true
        var negative = false
        if peek() == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard let first = peek(), first >= 0x30, first <= 0x39 else {
            throw error("expected a digit, got \(found())")
        }
        index += 1
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var exponent = 0
        var exact = true
        if first == 0x30 {
            if let next = peek(), next >= 0x30, next <= 0x39 {
                throw error("leading zero in a number", at: start)
            }
        } else {
            mantissa = UInt64(first &- 0x30)
            significantDigits = 1
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                let digit = UInt64(bytes[index] &- 0x30)
                if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ digit
                    significantDigits += 1
                } else {
                    exponent += 1
                    if digit != 0 { exact = false }
                }
                index += 1
            }
        }
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard let digit = peek(), digit >= 0x30, digit <= 0x39 else {
                throw error("expected a digit after '.', got \(found())")
            }
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                let digit = UInt64(bytes[index] &- 0x30)
                if significantDigits < 19 {
                    if mantissa != 0 || digit != 0 { significantDigits += 1 }
                    mantissa = mantissa &* 10 &+ digit
                    exponent -= 1
                } else if digit != 0 {
                    exact = false
                }
                index += 1
            }
        }
        if let byte = peek(), byte | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            index += 1
            var exponentNegative = false
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                exponentNegative = sign == UInt8(ascii: "-")
                index += 1
            }
            guard let digit = peek(), digit >= 0x30, digit <= 0x39 else {
                throw error("expected a digit in the exponent, got \(found())")
            }
            var explicit = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                if explicit < 1_000_000 { explicit = explicit * 10 + Int(bytes[index] &- 0x30) }
                index += 1
            }
            exponent += exponentNegative ? -explicit : explicit
        }
        return JSONToken(
            kind: .number, start: start, end: index, isInteger: isInteger,
            value: JSONNumber.fastValue(negative: negative, mantissa: mantissa, exponent: exponent, exact: exact))
    }

    /// Scans the array at `index` (its `[`) when every element is a number whose value the
    /// scanner computes exactly (see `JSONNumber.fastValue`), storing the first
    /// `values.count` of them. Returns the array token and its element count; returns nil with
    /// `index` unchanged for anything else, and the caller scans the array generically (which
    /// also reports any syntax error).
    mutating func scanFastNumberArray(into values: UnsafeMutableBufferPointer<Double>) -> (JSONToken, Int)? {
        let start = index
        index += 1
        skipWhitespace()
        var count = 0
        if peek() == UInt8(ascii: "]") {
            index += 1
            return (JSONToken(kind: .array, start: start, end: index), 0)
        }
        while true {
            guard let byte = peek(), byte == UInt8(ascii: "-") || (byte >= 0x30 && byte <= 0x39),
                let number = try? scanNumber(), !number.value.isNaN
            else {
                index = start
                return nil
            }
            if count < values.count { values[count] = number.value }
            count += 1
            skipWhitespace()
            guard let next = peek() else {
                index = start
                return nil
            }
            index += 1
            if next == UInt8(ascii: "]") { return (JSONToken(kind: .array, start: start, end: index), count) }
            guard next == UInt8(ascii: ",") else {
                index = start
                return nil
            }
            skipWhitespace()
        }
    }

    private mutating func scanArray(depth: Int) throws(JSONSyntaxError) -> JSONToken {
        guard depth <= JSONScanner.maxDepth else { throw error("nesting deeper than \(JSONScanner.maxDepth)") }
        let start = index
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return JSONToken(kind: .array, start: start, end: index)
        }
        while true {
            _ = try scanValue(depth: depth + 1)
            skipWhitespace()
            guard let byte = peek() else { throw error("unterminated array starting at byte \(start)") }
            index += 1
            if byte == UInt8(ascii: "]") { return JSONToken(kind: .array, start: start, end: index) }
            guard byte == UInt8(ascii: ",") else {
                index -= 1
                throw error("expected ',' or ']' in an array, got \(found())")
            }
            skipWhitespace()
        }
    }

    private mutating func scanObject(depth: Int) throws(JSONSyntaxError) -> JSONToken {
        guard depth <= JSONScanner.maxDepth else { throw error("nesting deeper than \(JSONScanner.maxDepth)") }
        let start = index
        var names = Set<[UInt8]>()
        let bytes = self.bytes
        try scanMembers(depth: depth) { (key: JSONToken, _: JSONToken) throws(JSONSyntaxError) in
            let name = JSONScanner.decodedString(key, in: bytes)
            guard names.insert(name).inserted else {
                throw JSONSyntaxError(
                    offset: key.start, message: "duplicate member name \(JSONScanner.describeKey(name))")
            }
        }
        return JSONToken(kind: .object, start: start, end: index)
    }

    /// Scans an object at `index` (its `{`), calling `member` with each name and value.
    @inline(__always)
    mutating func scanMembers(
        depth: Int, _ member: (JSONToken, JSONToken) throws(JSONSyntaxError) -> Void
    ) throws(JSONSyntaxError) {
        let start = index
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            guard peek() == UInt8(ascii: "\"") else {
                throw error("expected a member name (a string), got \(found())")
            }
            let key = try scanString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after a member name")
            skipWhitespace()
            let value = try scanValue(depth: depth + 1)
            try member(key, value)
            skipWhitespace()
            guard let byte = peek() else { throw error("unterminated object starting at byte \(start)") }
            index += 1
            if byte == UInt8(ascii: "}") { return }
            guard byte == UInt8(ascii: ",") else {
                index -= 1
                throw error("expected ',' or '}' in an object, got \(found())")
            }
            skipWhitespace()
        }
    }

    /// The UTF-8 content of a string token, escapes resolved.
    static func decodedString(_ token: JSONToken, in bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let contentStart = token.start + 1
        let contentEnd = token.end - 1
        guard token.hasEscapes else { return Array(bytes[contentStart..<contentEnd]) }
        var out: [UInt8] = []
        out.reserveCapacity(contentEnd - contentStart)
        var scanner = JSONScanner(bytes, at: contentStart)
        while scanner.index < contentEnd {
            let byte = bytes[scanner.index]
            if byte == UInt8(ascii: "\\") {
                // The token was scanned before, so the escape is valid.
                guard let scalar = try? scanner.scanEscape() else { break }
                out.append(contentsOf: UTF8.encode(scalar)!)
            } else {
                out.append(byte)
                scanner.index += 1
            }
        }
        return out
    }

    static func describeKey(_ name: [UInt8]) -> String {
        quoted(String(decoding: name, as: UTF8.self))
    }
}
