/// Converts scanned JSON number text to `Double` and `Int`.
enum JSONNumber {
    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// The nearest `Double` (IEEE round-to-nearest-even). Infinite when the magnitude is beyond
    /// `Double.greatestFiniteMagnitude`; callers reject that.
    static func double(_ bytes: UnsafeRawBufferPointer, _ token: JSONToken) -> Double {
        if !token.value.isNaN { return token.value }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[token.start..<token.end]), as: UTF8.self)
        return Double(text) ?? .nan
    }

    /// The exact value of `±mantissa × 10^exponent` when one rounding gets it, else NaN (the
    /// caller then uses the standard library's correctly rounded parser on the text).
    /// `exact` is false when digits beyond the 19th were dropped.
    ///
    /// Fast path (Clinger): an integer ≤ 2^53 and a power of ten ≤ 10^22 give an exact result
    /// with one multiplication or division. On x86-64, `extendedPrecision` covers the 17-digit
    /// numbers shortest round-trip printers emit.
    @inline(__always)
    static func fastValue(negative: Bool, mantissa: UInt64, exponent: Int, exact: Bool) -> Double {
        guard exact else { return .nan }
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        if mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
            let value =
                exponent >= 0
                ? Double(mantissa) * powersOfTen[exponent] : Double(mantissa) / powersOfTen[-exponent]
            return negative ? -value : value
        }
        #if arch(x86_64) && !os(Windows)
            if let value = extendedPrecision(mantissa, exponent) {
                return negative ? -value : value
            }
        #endif
        return .nan
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
