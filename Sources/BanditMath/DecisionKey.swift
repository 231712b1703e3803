/// A logged decision's 128-bit `decision_id`, ordered as PostgreSQL orders uuids (byte by byte):
/// `high` holds bytes 0–7 and `low` bytes 8–15, each big-endian.
public struct DecisionKey: Sendable, Hashable, Comparable {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// - Precondition: 16 bytes (a UUID's, in order).
    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == 16, "a decision id has 16 bytes")
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    public static func < (lhs: DecisionKey, rhs: DecisionKey) -> Bool {
        lhs.high < rhs.high || (lhs.high == rhs.high && lhs.low < rhs.low)
    }
}

/// The deterministic training / held-out split of `report ope` (CONTRACT section 9): a decision
/// is held out when its id, mixed into a uniform number in [0, 1), is below the held-out
/// fraction. The split depends on the `decision_id` alone — not on the order rows are read, the
/// time window or the other rows — and a larger fraction holds out a superset.
///
/// The mix is SplitMix64's finalizer applied twice (low half, then xor the high half): ids that
/// are not random themselves (time-ordered UUIDv7, sequential test ids) still split evenly.
public enum HoldoutSplit {
    /// The id's position in [0, 1) (53 bits).
    public static func position(of key: DecisionKey) -> Double {
        Double(mix(key.high ^ mix(key.low)) >> 11) * 0x1.0p-53
    }

    public static func isHeldOut(_ key: DecisionKey, fraction: Double) -> Bool {
        position(of: key) < fraction
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
