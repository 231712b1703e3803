import BanditCore
import Foundation
import Testing

/// Whatever the input, decoding returns: an event, or one of the decoder's reason codes with a
/// non-empty, header-safe detail. Never a crash, never a thrown error. Seeded, so a failure
/// reproduces.
@Suite("Properties")
struct PropertyTests {
    static let decoderReasons: Set<RejectionReason> = [
        .jsonInvalid, .schemaInvalid, .subjectUnknown, .policyUnknown, .dimensionMismatch, .payloadTooLarge,
    ]

    static func expectWellFormed(_ result: Result<Event, Rejection>, input: @autoclosure () -> String) {
        switch result {
        case .success(let event):
            // An accepted event can be re-encoded and decodes back to the same identity.
            if let data = try? JSONEncoder().encode(event) {
                let again = decode(event.subject.rawValue, Array(data))
                #expect(again.map(\.eventID) == .success(event.eventID), "\(input())")
            }
        case .failure(let rejection):
            #expect(decoderReasons.contains(rejection.reason), "\(input())")
            #expect(!rejection.detail.isEmpty, "\(input())")
            #expect(!rejection.detail.unicodeScalars.contains { $0.value < 0x20 }, "\(input())")
        }
    }

    @Test("random byte strings never crash and always yield an event or a reason")
    func randomBytes() {
        var random = SplitMix64(seed: 0xBADD_CAFE)
        let alphabet = Array("{}[]\":,.-+eE0123456789 \\utrfnals_abcdef".utf8)
        for iteration in 0..<20_000 {
            let length = Int(random.next() % 200)
            let structured = iteration % 2 == 0
            let bytes = (0..<length).map { _ in
                structured
                    ? alphabet[Int(random.next() % UInt64(alphabet.count))] : UInt8(truncatingIfNeeded: random.next())
            }
            let subject = EventSubject.allCases[iteration % EventSubject.allCases.count].rawValue
            Self.expectWellFormed(decode(subject, bytes), input: "\(bytes)")
        }
    }

    static let replacementValues: [String] = [
        "null", "true", "false", "0", "-0", "1", "-1", "1.0", "1e0", "0.5", "-0.5", "1e6", "1e400", "-1e400",
        "5e-324", "1e-400", "12345678901234567890", "\"\"", "\"x\"", "\"prod\"", "\"linucb_v1\"", "\"routing_v1\"",
        "\"2026-04-25T10:00:00Z\"", "\"0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d01\"", "\"linucb_v1@1.0.0+a3f9c2e1\"",
        "\"\\u0000\"", "\"\\ud83e\\uddea\"", "[]", "[1,2,3,4,5]", "[0,0,0,0,0,0,0,0]", "[\"a\"]", "{}",
        "{\"a\":[{}]}", "[[[[[]]]]]",
    ]

    @Test("random single-field mutations of valid events never crash and always yield an event or a reason")
    func randomMutations() {
        var random = SplitMix64(seed: 42)
        for iteration in 0..<20_000 {
            let (subject, base) = Sample.all[iteration % Sample.all.count]
            let member = base.members[Int(random.next() % UInt64(base.members.count))]
            let body: [UInt8]
            switch random.next() % 5 {
            case 0:
                body = base.setting(member.name, nil).bytes
            case 1, 2:
                let value = Self.replacementValues[Int(random.next() % UInt64(Self.replacementValues.count))]
                body = base.setting(member.name, value).bytes
            case 3:
                // Replace one byte of the member's value with a random byte.
                var raw = Array(member.raw.utf8)
                raw[Int(random.next() % UInt64(raw.count))] = UInt8(truncatingIfNeeded: random.next())
                var bytes = base.setting(member.name, "\u{1}").bytes
                let marker = bytes.firstIndex(of: 1)!
                bytes.replaceSubrange(marker...marker, with: raw)
                body = bytes
            default:
                // Cut the body short, or repeat the member.
                let bytes = base.bytes
                body =
                    random.next() % 2 == 0
                    ? Array(bytes.prefix(Int(random.next() % UInt64(bytes.count))))
                    : Array(base.description.dropLast().utf8) + Array(",\"\(member.name)\":\(member.raw)}".utf8)
            }
            Self.expectWellFormed(decode(subject.rawValue, body), input: String(decoding: body, as: UTF8.self))
        }
    }
}

/// A small, fast, seedable generator (Steele, Lea, Flood 2014).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
