import Foundation
import Testing

@testable import BanditStore

@Suite struct StateKeyTests {
    static func key(_ user: String, _ policy: String = "p", _ source: String = "prod", _ arm: String = "a") -> StateKey
    {
        StateKey(userID: user, policy: policy, source: source, armID: arm)
    }

    @Test func canonicallyEquivalentIDsAreDifferentKeysLikeInPostgreSQL() {
        // "é" precomposed and decomposed: Swift's String == says equal, PostgreSQL's text does not.
        let precomposed = Self.key("caf\u{E9}")
        let decomposed = Self.key("cafe\u{301}")
        #expect("caf\u{E9}" == "cafe\u{301}")
        #expect(precomposed != decomposed)
        #expect(Set([precomposed, decomposed]).count == 2)
    }

    @Test func fieldBoundariesMatter() {
        #expect(Self.key("ab", "c") != Self.key("a", "bc"))
        #expect(Set([Self.key("ab", "c"), Self.key("a", "bc")]).count == 2)
    }

    @Test func orderIsBytewiseFieldByField() {
        // Bytewise: "Z" (0x5A) < "a" (0x61) < "é" (0xC3 0xA9); a prefix sorts first; then policy,
        // source, arm.
        let expected = [
            Self.key("user"), Self.key("user-Z"), Self.key("user-a", "o"), Self.key("user-a", "p", "prod", "a"),
            Self.key("user-a", "p", "prod", "b"), Self.key("user-a", "p", "shadow", "a"), Self.key("user-é"),
        ]
        for seed in 0..<20 {
            var generator = SeededGenerator(seed: UInt64(seed))
            #expect(expected.shuffled(using: &generator).sorted() == expected)
        }
        #expect(!(Self.key("x") < Self.key("x")))
    }

    @Test func equalKeysHashEqually() {
        let first = Self.key(String("user-1".reversed().reversed()))
        let second = Self.key("user-1")
        #expect(first == second)
        #expect(first.hashValue == second.hashValue)
        #expect(Bytewise.compare("", "") == 0)
        #expect(Bytewise.compare("", "a") < 0)
    }
}

/// SplitMix64: a reproducible shuffle.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
