/// Syntax checks for Semantic Versioning 2.0.0 strings (https://semver.org), over UTF-8 bytes.
enum SemanticVersion {
    /// `MAJOR.MINOR.PATCH[-prerelease][+build]`.
    static func isValid(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isValid(UnsafeRawBufferPointer($0), buildMetadata: .any) }
    }

    enum BuildMetadata {
        /// Optional, any valid build identifiers.
        case any
        /// Required, exactly eight lowercase hex digits (the `+a3f9c2e1` of a policy version).
        case eightLowercaseHex
    }

    static func isValid(_ bytes: UnsafeRawBufferPointer, buildMetadata: BuildMetadata) -> Bool {
        var index = 0
        let end = bytes.count
        // Core: three numeric identifiers without leading zeros.
        for part in 0..<3 {
            let start = index
            while index < end, isDigit(bytes[index]) { index += 1 }
            if index == start || (bytes[start] == UInt8(ascii: "0") && index - start > 1) { return false }
            if part < 2 {
                guard index < end, bytes[index] == UInt8(ascii: ".") else { return false }
                index += 1
            }
        }
        if index < end, bytes[index] == UInt8(ascii: "-") {
            index += 1
            guard let next = identifiers(bytes, from: index, numericLeadingZeroAllowed: false) else { return false }
            index = next
        }
        switch buildMetadata {
        case .any:
            if index < end, bytes[index] == UInt8(ascii: "+") {
                guard let next = identifiers(bytes, from: index + 1, numericLeadingZeroAllowed: true) else {
                    return false
                }
                index = next
            }
            return index == end
        case .eightLowercaseHex:
            guard end - index == 9, bytes[index] == UInt8(ascii: "+") else { return false }
            for offset in (index + 1)..<end where !isLowercaseHex(bytes[offset]) { return false }
            return true
        }
    }

    /// Dot-separated non-empty identifiers of `[0-9A-Za-z-]`; returns the index after them.
    private static func identifiers(
        _ bytes: UnsafeRawBufferPointer, from start: Int, numericLeadingZeroAllowed: Bool
    ) -> Int? {
        var index = start
        while true {
            let identifierStart = index
            var allDigits = true
            while index < bytes.count, isIdentifierByte(bytes[index]) {
                if !isDigit(bytes[index]) { allDigits = false }
                index += 1
            }
            let length = index - identifierStart
            if length == 0 { return nil }
            if allDigits, !numericLeadingZeroAllowed, length > 1, bytes[identifierStart] == UInt8(ascii: "0") {
                return nil
            }
            guard index < bytes.count, bytes[index] == UInt8(ascii: ".") else { return index }
            index += 1
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private static func isLowercaseHex(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
            || byte == UInt8(ascii: "-")
    }
}
