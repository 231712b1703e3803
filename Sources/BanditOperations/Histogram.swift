/// Fixed-bucket histogram storage, mutated in place under the owning registry's lock.
///
/// Counts are kept per bucket (not cumulative); rendering accumulates them. Observing allocates
/// nothing.
struct Histogram: Sendable {
    /// Upper bounds, ascending; the `+Inf` bucket is implied by `count`.
    let bounds: [Double]
    private(set) var bucketCounts: [UInt64]
    private(set) var count: UInt64 = 0
    private(set) var sum: Double = 0

    init(bounds: [Double]) {
        precondition(!bounds.isEmpty && zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "bounds must ascend")
        self.bounds = bounds
        self.bucketCounts = Array(repeating: 0, count: bounds.count)
    }

    mutating func observe(_ value: Double) {
        guard value.isFinite else { return }
        count += 1
        sum += value
        for index in bounds.indices where value <= bounds[index] {
            bucketCounts[index] += 1
            return
        }
    }

    /// `(le, cumulative count)` for each bound, then `("+Inf", count)`.
    func cumulativeBuckets() -> [(bound: Double, count: UInt64)] {
        var running: UInt64 = 0
        var result: [(bound: Double, count: UInt64)] = []
        result.reserveCapacity(bounds.count + 1)
        for (bound, bucketCount) in zip(bounds, bucketCounts) {
            running += bucketCount
            result.append((bound, running))
        }
        result.append((.infinity, count))
        return result
    }
}
