import Foundation

/// PostgreSQL's text format for the values banditd binds and reads. Doubles use Swift's shortest
/// round-trip formatting, so a float8 survives the trip bit for bit.
public enum PostgresText {
    public static func double(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        return "\(value)"
    }

    public static func double(_ text: some StringProtocol) -> Double? {
        switch text {
        case "NaN": .nan
        case "Infinity": .infinity
        case "-Infinity": -.infinity
        default: Double(String(text))
        }
    }

    public static func uuid(_ value: UUID) -> String {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(36)
        appendUUID(value, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// `2026-04-25T10:00:00.123456Z`: UTC with microseconds, timestamptz's own precision
    /// (Foundation's ISO 8601 style stops at milliseconds).
    public static func timestamp(_ date: Date) -> String {
        var micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        if !micros.isFinite { micros = 0 }
        let total = Int64(micros)
        var seconds = time_t(total >= 0 ? total / 1_000_000 : (total - 999_999) / 1_000_000)
        let fraction = Int(total - Int64(seconds) * 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(27)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                buffer.append(UInt8(ascii: "0") + UInt8((rest / divisor) % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        buffer.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        buffer.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        buffer.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        buffer.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        buffer.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        buffer.append(UInt8(ascii: "."))
        digits(fraction, 6)
        buffer.append(UInt8(ascii: "Z"))
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Parses timestamptz output with DateStyle ISO: `2026-04-25 10:00:00[.ffffff]+00[:MM]`.
    public static func timestamp(_ text: String) -> Date? {
        let scalars = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= scalars.count else { return nil }
            var value = 0
            for byte in scalars[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard scalars.count >= 22, let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < scalars.count, scalars[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < scalars.count, (48...57).contains(scalars[index]) {
                fraction += Double(scalars[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        guard index < scalars.count, scalars[index] == UInt8(ascii: "+") || scalars[index] == UInt8(ascii: "-"),
            let offsetHours = number((index + 1)..<(index + 3))
        else { return nil }
        let sign = scalars[index] == UInt8(ascii: "+") ? 1 : -1
        var offsetMinutes = 0
        if index + 3 < scalars.count, scalars[index + 3] == UInt8(ascii: ":") {
            guard let minutes = number((index + 4)..<(index + 6)) else { return nil }
            offsetMinutes = minutes
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let utc = timegm(&parts)
        let offset = sign * (offsetHours * 3600 + offsetMinutes * 60)
        return Date(timeIntervalSince1970: Double(utc - offset) + fraction)
    }

    // MARK: Arrays (one dimension)
    //
    // Built as UTF-8 bytes in one buffer: a batch binds arrays of thousands of elements, and
    // String appends per element were most of the daemon's CPU time.

    public static func array(_ values: [Double]) -> String {
        literal(values.count, estimate: 20) { buffer, index in appendDouble(values[index], to: &buffer) }
    }

    public static func array(_ values: [Int64]) -> String {
        literal(values.count, estimate: 8) { buffer, index in buffer.append(contentsOf: String(values[index]).utf8) }
    }

    public static func array(_ values: [UUID]) -> String {
        literal(values.count, estimate: 37) { buffer, index in appendUUID(values[index], to: &buffer) }
    }

    /// Every element quoted: a quoted element is never NULL, and commas, braces, spaces, quotes
    /// and backslashes in it are data.
    public static func array(_ values: [String]) -> String {
        literal(values.count, estimate: 16) { buffer, index in appendQuoted(values[index], to: &buffer) }
    }

    /// nil elements are SQL NULLs.
    public static func array(_ values: [String?]) -> String {
        literal(values.count, estimate: 16) { buffer, index in
            if let value = values[index] {
                appendQuoted(value, to: &buffer)
            } else {
                buffer.append(contentsOf: "NULL".utf8)
            }
        }
    }

    public static func array(_ values: [Bool?]) -> String {
        literal(values.count, estimate: 4) { buffer, index in
            switch values[index] {
            case true?: buffer.append(UInt8(ascii: "t"))
            case false?: buffer.append(UInt8(ascii: "f"))
            case nil: buffer.append(contentsOf: "NULL".utf8)
            }
        }
    }

    static func quoted(_ value: String) -> String {
        var buffer: [UInt8] = []
        appendQuoted(value, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    private static func literal(_ count: Int, estimate: Int, _ element: (inout [UInt8], Int) -> Void) -> String {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(2 + count * (estimate + 1))
        buffer.append(UInt8(ascii: "{"))
        for index in 0..<count {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            element(&buffer, index)
        }
        buffer.append(UInt8(ascii: "}"))
        return String(decoding: buffer, as: UTF8.self)
    }

    private static func appendQuoted(_ value: String, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            for byte in bytes {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { buffer.append(UInt8(ascii: "\\")) }
                buffer.append(byte)
            }
        }
        buffer.append(UInt8(ascii: "\""))
    }

    private static func appendDouble(_ value: Double, to buffer: inout [UInt8]) {
        if value.isFinite {
            buffer.append(contentsOf: value.description.utf8)  // shortest round trip; a small string
        } else {
            buffer.append(contentsOf: double(value).utf8)
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func appendUUID(_ value: UUID, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.uuid) { bytes in
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 { buffer.append(UInt8(ascii: "-")) }
                buffer.append(hexDigits[Int(byte >> 4)])
                buffer.append(hexDigits[Int(byte & 0x0f)])
            }
        }
    }

    public static func doubleArray(_ text: String) -> [Double]? {
        guard let elements = arrayElements(text) else { return nil }
        var values: [Double] = []
        values.reserveCapacity(elements.count)
        for element in elements {
            guard let element, let value = double(element) else { return nil }
            values.append(value)
        }
        return values
    }

    public static func stringArray(_ text: String) -> [String]? {
        guard let elements = arrayElements(text) else { return nil }
        var values: [String] = []
        for element in elements {
            guard let element else { return nil }
            values.append(element)
        }
        return values
    }

    /// Splits a one-dimensional array literal into its elements (nil for an unquoted NULL),
    /// undoing quoting and backslash escapes.
    public static func arrayElements(_ text: String) -> [String?]? {
        let scalars = Array(text.unicodeScalars)
        guard scalars.first == "{", scalars.last == "}" else { return nil }
        var elements: [String?] = []
        var index = 1
        let end = scalars.count - 1
        if index == end { return [] }
        while index <= end {
            var element = String.UnicodeScalarView()
            var quoted = false
            if scalars[index] == "\"" {
                quoted = true
                index += 1
                while index < end && scalars[index] != "\"" {
                    if scalars[index] == "\\" { index += 1 }
                    guard index < end else { return nil }
                    element.append(scalars[index])
                    index += 1
                }
                guard index < end else { return nil }
                index += 1  // closing quote
            } else {
                while index < end && scalars[index] != "," {
                    if scalars[index] == "{" || scalars[index] == "\"" { return nil }  // nested or malformed
                    element.append(scalars[index])
                    index += 1
                }
            }
            let value = String(element)
            elements.append(!quoted && value.uppercased() == "NULL" ? nil : value)
            guard index == end || scalars[index] == "," else { return nil }
            index += 1
        }
        return elements
    }
}
