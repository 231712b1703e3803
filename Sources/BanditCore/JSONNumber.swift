/// Converts scanned JSON number text to `Double` and `Int`.
enum JSONNumber {
    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// The nearest `Double` (IEEE round-to-nearest-even). Infinite when the magnitude is beyond
    /// `Double.greatestFiniteMagnitude`; callers reject that.
    ///
    /// Fast path (Clinger): at most 19 significant digits forming an integer ≤ 2^53 and a power
    /// of ten ≤ 10^22 give an exact result with one multiplication or division. Other numbers
    /// go through the standard library's correctly rounded parser.
    static func double(_ bytes: UnsafeRawBufferPointer, _ token: JSONToken) -> Double {
        var index = token.start
        let end = token.end
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var exponent = 0
        var exact = true
        while index < end, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            let digit = UInt64(bytes[index] - 0x30)
            if significantDigits < 19 {
                if mantissa != 0 || digit != 0 { significantDigits += 1 }
                mantissa = mantissa &* 10 &+ digit
            } else {
                exponent += 1
                if digit != 0 { exact = false }
            }
            index += 1
        }
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < end, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                let digit = UInt64(bytes[index] - 0x30)
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
        if index < end {  // 'e' or 'E'
            index += 1
            var exponentNegative = false
            if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            var explicit = 0
            while index < end {
                if explicit < 1_000_000 { explicit = explicit * 10 + Int(bytes[index] - 0x30) }
                index += 1
            }
            exponent += exponentNegative ? -explicit : explicit
        }
        if mantissa == 0 && exact { return negative ? -0.0 : 0.0 }
        if exact, mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
            let value =
                exponent >= 0
                ? Double(mantissa) * powersOfTen[exponent] : Double(mantissa) / powersOfTen[-exponent]
            return negative ? -value : value
        }
        #if arch(x86_64) && !os(Windows)
            if exact, let value = extendedPrecision(mantissa, exponent) {
                return negative ? -value : value
            }
        #endif
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[token.start..<token.end]), as: UTF8.self)
        return Double(text) ?? .nan
    }

    #if arch(x86_64) && !os(Windows)
        private static let extendedPowersOfTen: [Float80] = (0...27).map { exponent in
            var value: Float80 = 1
            for _ in 0..<exponent { value *= 10 }
            return value
        }

        /// Up to 19 digits (what shortest round-trip printers emit: 17) with |exponent| ≤ 27:
        /// mantissa and power of ten are exact in `Float80` (64-bit significand), so one x87
        /// multiplication or division is correctly rounded to 64 bits. Rounding that to 53 bits
        /// is then correct too, except when the 64-bit result sits exactly on a midpoint between
        /// two doubles (the true value may lie on either side): nil then, and the caller takes
        /// the slow path.
        @inline(__always)
        private static func extendedPrecision(_ mantissa: UInt64, _ exponent: Int) -> Double? {
            guard exponent >= -27, exponent <= 27 else { return nil }
            let wide =
                exponent >= 0
                ? Float80(mantissa) * extendedPowersOfTen[exponent] : Float80(mantissa) / extendedPowersOfTen[-exponent]
            guard wide.significandBitPattern & 0x7FF != 0x400 else { return nil }
            return Double(wide)
        }
    #endif

    /// The value of an integer token (no fraction, no exponent), or nil beyond ±10^18.
    static func integer(_ bytes: UnsafeRawBufferPointer, _ token: JSONToken) -> Int? {
        guard token.isInteger else { return nil }
        var index = token.start
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard token.end - index <= 18 else { return nil }
        var value = 0
        while index < token.end {
            value = value * 10 + Int(bytes[index] - 0x30)
            index += 1
        }
        return negative ? -value : value
    }
}
