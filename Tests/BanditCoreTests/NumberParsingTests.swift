import BanditCore
import Foundation
import Testing

/// Numbers decode to exactly the `Double` the standard library's correctly rounded parser
/// gives for the same text, through every path of the decoder's number conversion.
@Suite("Number parsing")
struct NumberParsingTests {
    static func decodedLatency(_ text: String) throws -> Double {
        let event = try decode(.routing, Sample.routing.setting("latency_ms", text)).get()
        guard case .routing(let outcome) = event else { throw Rejection(reason: .schemaInvalid, detail: "subject") }
        return outcome.latencyMs
    }

    @Test(
        "hard cases round like the standard library",
        arguments: [
            "0", "-0", "1", "0.1", "0.30000000000000004", "9007199254740992", "9007199254740993", "9007199254740995",
            "9007199254740993.0000000001", "18014398509481985", "1.7976931348623157e308", "2.2250738585072014e-308",
            "2.2250738585072011e-308", "4.9406564584124654e-324", "2.4703282292062327e-324", "1e23", "8.41e21",
            "5e-324", "123456789012345678901234567890", "0.000000000000000000000000000001", "1e-27", "1e27", "1e28",
            "9999999999999999999", "99999999999999999999", "7.2057594037927933e16",
            "1.00000000000000011102230246251565",
            "0.1000000000000000055511151231257827", "3.0517578125e-05", "12345.678901234567", "1E+2", "1e-0",
            "100000000000000000000000", "0.00000000000000000000000000000000000000000000001",
        ])
    func hardCases(_ text: String) throws {
        // latency_ms takes any finite number ≥ 0 (and -0), so it exercises the full range.
        #expect(try Self.decodedLatency(text).bitPattern == Double(text)!.bitPattern, "\(text)")
    }

    @Test("random doubles in shortest, 17-, 19- and 25-digit forms decode exactly")
    func randomDoubles() throws {
        var random = SplitMix64(seed: 7)
        for _ in 0..<5_000 {
            // Positive finite doubles over the whole exponent range.
            let value = Double(bitPattern: random.next() & 0x7FEF_FFFF_FFFF_FFFF)
            for text in [
                "\(value)", String(format: "%.17g", value), String(format: "%.19g", value),
                String(format: "%.25g", value), String(format: "%.15e", value),
            ] {
                let decoded = try Self.decodedLatency(text)
                #expect(decoded.bitPattern == Double(text)!.bitPattern, "\(text)")
            }
        }
    }

    @Test("random decimal strings of up to 22 digits decode exactly")
    func randomDecimals() throws {
        var random = SplitMix64(seed: 11)
        for _ in 0..<20_000 {
            let digits = Int(random.next() % 22) + 1
            var text = String(Int(random.next() % 9) + 1)
            for _ in 1..<digits { text += String(random.next() % 10) }
            let point = Int(random.next() % UInt64(digits + 1))
            if point > 0, point < digits { text.insert(".", at: text.index(text.startIndex, offsetBy: point)) }
            if random.next() % 2 == 0 { text += "e\(Int(random.next() % 80) - 40)" }
            let decoded = try Self.decodedLatency(text)
            #expect(decoded.bitPattern == Double(text)!.bitPattern, "\(text)")
        }
    }
}
