/// SplitMix64: a small, fast generator whose whole sequence is a function of its seed, so a
/// synthetic world, its log and a bootstrap's resamples are reproducible on every platform
/// (unlike `SystemRandomNumberGenerator`). Not for cryptography.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        self.state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1) with 53 random bits (independent of the standard library's
    /// `Double.random(in:using:)` algorithm, which may change between releases).
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform integer in 0..<bound (bound > 0); the modulo bias is below 2⁻⁵⁰ for the small
    /// bounds used here.
    public mutating func index(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int(next() % UInt64(bound))
    }

    /// 16 random bytes shaped as a version 4 UUID.
    public mutating func uuidBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for word in [next(), next()] {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((word >> UInt64(shift)) & 0xff)) }
        }
        bytes[6] = 0x40 | (bytes[6] & 0x0f)
        bytes[8] = 0x80 | (bytes[8] & 0x3f)
        return bytes
    }
}
