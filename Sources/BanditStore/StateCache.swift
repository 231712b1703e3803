import Foundation

/// The `bandit_state` rows one apply lane wrote last, each with its row version: a batch that
/// updates a cached row neither reads it nor locks it beforehand, and its update names the
/// version (`RowVersion`: ctid, xmin, key). The version is the truth, there is no TTL for
/// correctness: if anyone else changed the row since (another daemon, the window closer, a state
/// reset), the update finds no such version, the transaction raises a serialization failure
/// before COMMIT, and the batch is applied again the careful way (rows read `FOR UPDATE`).
///
/// Bounded: past `capacity` rows it starts afresh, and an entry older than `maxAge` is not used
/// (so a transaction id can never have wrapped around under it). Used by one lane's thread only.
public final class StateCache {
    public struct Statistics: Sendable, Equatable {
        /// State rows a batch took from the cache (not read).
        public var hits = 0
        /// State rows a batch had to read.
        public var misses = 0
        /// Batches whose cached rows had changed meanwhile (applied again with the rows locked).
        public var conflicts = 0
    }

    public let capacity: Int
    public let maxAge: Duration
    public private(set) var statistics = Statistics()
    private var entries: [StateKey: (arm: StoredArm, storedAt: ContinuousClock.Instant)] = [:]

    public init(capacity: Int = 4096, maxAge: Duration = .seconds(600)) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
        self.maxAge = maxAge
    }

    public var count: Int { entries.count }

    /// The cached rows of `keys` (fresh enough); counts hits and misses.
    func arms(_ keys: [StateKey], now: ContinuousClock.Instant = .now) -> [StateKey: StoredArm] {
        var found: [StateKey: StoredArm] = [:]
        for key in keys {
            if let entry = entries[key], now - entry.storedAt < maxAge {
                found[key] = entry.arm
            }
        }
        statistics.hits += found.count
        statistics.misses += keys.count - found.count
        return found
    }

    /// Remembers rows a committed transaction wrote.
    func store(_ arms: [StoredArm], now: ContinuousClock.Instant = .now) {
        if entries.count + arms.count > capacity { entries.removeAll(keepingCapacity: true) }
        for arm in arms.prefix(capacity) { entries[arm.key] = (arm, now) }
    }

    /// Forgets `keys` (their transaction failed: what it wrote, if anything, is unknown).
    func forget(_ keys: some Sequence<StateKey>) {
        for key in keys { entries[key] = nil }
    }

    func conflicted() { statistics.conflicts += 1 }

    /// Forgets everything (a new session: nothing is assumed about the database).
    public func removeAll() { entries.removeAll() }
}
