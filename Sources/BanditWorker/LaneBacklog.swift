import NATSKit

/// The fetch side's parts that wait for their lane: a lane that holds a batch through an outage
/// (a row locked elsewhere, say) keeps its handoff full, and the parts for its users that arrive
/// meanwhile wait here, in fetch order, so the other lanes go on. Bounded by the caller (the
/// fetcher stops fetching once a fetch's worth waits); its messages are kept alive by the caller.
struct LaneBacklog {
    private var parts: [[FetchedBatch]]
    /// Messages waiting, all lanes.
    private(set) var count = 0

    init(lanes: Int) {
        parts = Array(repeating: [], count: lanes)
    }

    var isEmpty: Bool { count == 0 }

    /// Every waiting message (to keep them alive).
    var messages: [JetStreamMessage] { parts.flatMap { $0.flatMap(\.messages) } }

    /// Whether `lane` has parts waiting: a newer part for that lane must wait behind them, or
    /// one user's messages would apply out of order.
    func hasParts(for lane: Int) -> Bool { !parts[lane].isEmpty }

    /// The lanes with parts waiting.
    var waitingLanes: [Int] { parts.indices.filter { !parts[$0].isEmpty } }

    mutating func append(_ part: FetchedBatch, for lane: Int) {
        guard !part.messages.isEmpty else { return }
        parts[lane].append(part)
        count += part.messages.count
    }

    /// The oldest waiting parts of `lane` as one batch: whole parts, in order, as many as fit in
    /// `limit` messages, and always at least one (a part is never cut).
    mutating func takeBatch(for lane: Int, limit: Int) -> FetchedBatch? {
        guard var batch = parts[lane].first else { return nil }
        var taken = 1
        while taken < parts[lane].count, batch.messages.count + parts[lane][taken].messages.count <= limit {
            batch.messages += parts[lane][taken].messages
            batch.decoded += parts[lane][taken].decoded
            taken += 1
        }
        parts[lane].removeFirst(taken)
        count -= batch.messages.count
        return batch
    }

    /// Puts back a batch taken with `takeBatch` that its lane could not take after all.
    mutating func putBack(_ batch: FetchedBatch, for lane: Int) {
        parts[lane].insert(batch, at: 0)
        count += batch.messages.count
    }
}
