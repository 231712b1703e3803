/// Groups many (key, x, r) updates of one batch into one delta per state key, so the store
/// upserts each `bandit_state` row once per batch (Δa, Δb, Δn, Δreward_sum added to the row).
///
/// `Key` is whatever identifies a row, e.g. (user_id, policy, source, arm_id) in BanditCore.
/// ``deltas`` returns the keys in ascending order: the stable lock order that keeps daemons
/// upserting overlapping rows from deadlocking each other.
///
/// Keys are grouped by `Key`'s `==`. If a key holds `String`s, note that Swift's `String ==`
/// is canonical equivalence ("é" == "e\u{301}") while PostgreSQL's text equality compares
/// bytes: such a key must compare its strings as UTF-8 bytes, or two rows would share a delta.
public struct ArmStatisticsBatch<Key: Hashable & Comparable & Sendable>: Sendable {
    private var byKey: [Key: ArmStatistics] = [:]

    public init() {}

    /// Number of distinct keys.
    public var count: Int { byKey.count }

    public var isEmpty: Bool { byKey.isEmpty }

    /// Adds one observation to the delta of `key`. The first update of a key fixes its dimension
    /// (the policy's); a later update of another length is a programming error.
    public mutating func add(key: Key, features: [Double], reward: Double) {
        byKey[key, default: .zero(dimension: features.count)].add(features: features, reward: reward)
    }

    /// Adds a reward correction (``ArmStatistics/correct(features:by:)``) to the delta of `key`.
    public mutating func correct(key: Key, features: [Double], by delta: Double) {
        byKey[key, default: .zero(dimension: features.count)].correct(features: features, by: delta)
    }

    /// Adds a whole delta (e.g. from another batch) to the delta of `key`.
    public mutating func merge(key: Key, statistics: ArmStatistics) {
        if let existing = byKey[key] {
            byKey[key] = existing + statistics
        } else {
            byKey[key] = statistics
        }
    }

    /// The delta of `key`, if any update touched it.
    public subscript(key: Key) -> ArmStatistics? { byKey[key] }

    /// One delta per key, keys ascending.
    public var deltas: [(key: Key, delta: ArmStatistics)] {
        byKey.sorted { $0.key < $1.key }.map { (key: $0.key, delta: $0.value) }
    }
}
