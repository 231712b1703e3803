import BanditCore
import Foundation
import NATSKit

/// A fetched batch, decoded: one result per message.
struct FetchedBatch: Sendable {
    var messages: [JetStreamMessage]
    var decoded: [Result<Event, Rejection>]
}

/// The bounded queue between a worker's fetch thread and its apply thread: the next batch is
/// fetched and decoded while the current one commits, and at most `capacity` batches wait (so
/// a hold keeps a bounded number of messages alive).
final class BatchHandoff: Sendable {
    enum Taken {
        case batch(FetchedBatch)
        case timedOut
        /// The fetch side is done and everything was taken.
        case finished
    }

    private struct State: Sendable {
        var queue: [FetchedBatch] = []
        var producing = true
        var consuming = true
        var holding = false
    }

    private let capacity: Int
    // NSCondition: a mutex with a condition variable; `state` is only touched under it.
    private let condition = NSCondition()
    nonisolated(unsafe) private var state = State()

    init(capacity: Int) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
    }

    /// Waits until a batch may be put (or `timeout` passes); false on timeout or when the apply
    /// side has stopped taking.
    func waitForSpace(timeout: Duration) -> Bool {
        let deadline = Date().addingTimeInterval(timeout.timeInterval)
        condition.lock()
        defer { condition.unlock() }
        while state.consuming && state.queue.count >= capacity {
            if !condition.wait(until: deadline) { return false }
        }
        return state.consuming
    }

    /// Waits until every one of `handoffs` has room (the fetch side of several lanes); false on
    /// timeout or when one of them stopped taking.
    static func waitForSpace(in handoffs: [BatchHandoff], timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        for handoff in handoffs {
            let remaining = max(.zero, deadline - ContinuousClock.now)
            guard handoff.waitForSpace(timeout: remaining) else { return false }
        }
        return true
    }

    /// Set by the apply side while it holds a batch through an outage: the fetch side then no
    /// longer waits for this lane's room before it fetches (it keeps this lane's parts in its
    /// `LaneBacklog`), so one held lane does not stop the others.
    var isHolding: Bool {
        get {
            condition.lock()
            defer { condition.unlock() }
            return state.holding
        }
        set {
            condition.lock()
            state.holding = newValue
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Puts a batch if there is room now; false if the queue is full.
    func tryPut(_ batch: FetchedBatch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard state.queue.count < capacity else { return false }
        state.queue.append(batch)
        condition.broadcast()
        return true
    }

    /// Puts a batch whatever the capacity (after `waitForSpace`, or the final batches at stop).
    func put(_ batch: FetchedBatch) {
        condition.lock()
        state.queue.append(batch)
        condition.broadcast()
        condition.unlock()
    }

    /// The fetch side is done: once the queue is empty, `take` says `finished`.
    func finishProducing() {
        condition.lock()
        state.producing = false
        condition.broadcast()
        condition.unlock()
    }

    /// The apply side stops taking (it failed): wakes a fetch side waiting for space.
    func stopConsuming() {
        condition.lock()
        state.consuming = false
        condition.broadcast()
        condition.unlock()
    }

    func take(timeout: Duration) -> Taken {
        let deadline = Date().addingTimeInterval(timeout.timeInterval)
        condition.lock()
        defer { condition.unlock() }
        while state.queue.isEmpty {
            if !state.producing { return .finished }
            if !condition.wait(until: deadline) { return state.queue.isEmpty ? .timedOut : take(locked: ()) }
        }
        return take(locked: ())
    }

    private func take(locked: Void) -> Taken {
        let batch = state.queue.removeFirst()
        condition.broadcast()
        return .batch(batch)
    }

    /// The messages waiting in the queue (to keep them alive while the apply side holds).
    var queuedMessages: [JetStreamMessage] {
        condition.lock()
        defer { condition.unlock() }
        return state.queue.flatMap(\.messages)
    }

    /// Empties the queue (shutdown during an outage: the caller naks what it returns).
    func drain() -> [JetStreamMessage] {
        condition.lock()
        defer { condition.unlock() }
        let messages = state.queue.flatMap(\.messages)
        state.queue = []
        condition.broadcast()
        return messages
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
