import BanditCore
import Foundation
import Logging
import NATSKit

/// A worker's fetch side, on a thread of its own: pulls a batch, decodes it and hands each apply
/// lane its users' part (`ApplyLanes`), then pulls the next while the lanes commit. Waits until
/// every lane has room before it fetches, so in normal operation it holds no batch of its own.
/// A lane that holds a batch through an outage is not waited for: its users' parts wait in a
/// `LaneBacklog` (kept alive with `+WPI`, at most a fetch's worth) and the other lanes go on.
///
/// `@unchecked Sendable`: it is built on the worker's thread (binding the consumer reports a
/// missing consumer at start) and from then on used only by the fetch thread that `run` starts;
/// the thread start orders the hand-over. `fatalError` is read after that thread ended.
final class BatchFetcher: @unchecked Sendable {
    private let consumer: PullConsumer
    private let nats: NATSConnection
    private let decoder: EventDecoder
    private let batchSize: Int
    private let maxWait: Duration
    private let keepAliveInterval: Duration
    private let loop: String
    private let observer: any WorkerObserver
    private let logger: Logger
    /// A failure no retry can fix (the consumer was deleted): the worker stops with it.
    private(set) var fatalError: NATSError?

    init(
        consumer: PullConsumer, nats: NATSConnection, decoder: EventDecoder, batchSize: Int, maxWait: Duration,
        keepAliveInterval: Duration, loop: String, observer: any WorkerObserver, logger: Logger
    ) {
        self.consumer = consumer
        self.nats = nats
        self.decoder = decoder
        self.batchSize = batchSize
        self.maxWait = maxWait
        self.keepAliveInterval = keepAliveInterval
        self.loop = loop
        self.observer = observer
        self.logger = logger
    }

    /// Fetches into the lanes' handoffs until `stop`, then hands over what the open pull requests
    /// still deliver and finishes the handoffs. Blocks; run it on a thread of its own.
    func run(into handoffs: [BatchHandoff], stop: StopSignal) {
        defer {
            for handoff in handoffs { handoff.finishProducing() }
            observer.loopEnded(loop)
        }
        let lanes = ApplyLanes(count: handoffs.count)
        let laneBatchSize = max(1, batchSize / handoffs.count)
        var backlog = LaneBacklog(lanes: handoffs.count)
        // A part goes straight to its lane if the lane has room and none of its parts waits
        // before it (one user's messages apply in fetch order); otherwise it waits in the backlog.
        func route(_ messages: [JetStreamMessage]) {
            guard !messages.isEmpty else { return }
            for (lane, part) in lanes.split(decode(messages))
            where backlog.hasParts(for: lane) || !handoffs[lane].tryPut(part) {
                backlog.append(part, for: lane)
            }
        }
        func handOverBacklog() {
            for lane in backlog.waitingLanes {
                while let batch = backlog.takeBatch(for: lane, limit: laneBatchSize) {
                    guard handoffs[lane].tryPut(batch) else {
                        backlog.putBack(batch, for: lane)
                        break
                    }
                }
            }
        }
        var lastKeepAlive = ContinuousClock.now
        var backoff = Backoff()
        while !stop.isRequested {
            observer.loopBeat(loop)
            handOverBacklog()
            // What waits here must be kept alive (`+WPI`), or its ack wait would spend a delivery.
            if backlog.isEmpty {
                lastKeepAlive = .now
            } else if ContinuousClock.now - lastKeepAlive >= keepAliveInterval {
                for message in backlog.messages { try? nats.inProgress(message) }
                lastKeepAlive = .now
            }
            // Fetch once every lane that is not holding has room, so that in normal operation the
            // fetcher keeps nothing of its own; a holding lane's parts wait in the backlog, up to
            // a fetch's worth, and then the fetcher waits for that lane too.
            let full = backlog.count >= batchSize
            let waitFor = full ? backlog.waitingLanes.map { handoffs[$0] } : handoffs.filter { !$0.isHolding }
            guard BatchHandoff.waitForSpace(in: waitFor, timeout: .seconds(1)), !full else {
                if stop.isRequested { break }
                // Take what open pulls deliver meanwhile (kept alive above while it waits).
                route((try? consumer.takeDelivered()) ?? [])
                continue
            }
            do {
                let messages = try consumer.fetch(maxMessages: batchSize, maxWait: maxWait)
                backoff = Backoff()
                route(messages)
            } catch {
                // A 409 such as "Consumer Deleted" needs a restart (which re-creates the
                // consumer); anything else (disconnected, no responders) passes.
                if case .pullStatus = error.origin {
                    fatalError = error
                    return
                }
                let delay = backoff.next()
                logger.warning(
                    "fetch failed; retrying",
                    metadata: ["error": "\(error)", "retry_in_ms": "\(delay.milliseconds)"])
                _ = stop.sleep(delay)
            }
        }
        // Shutdown: what waits and what the open pull requests still deliver is settled too.
        let delivered = (try? consumer.finish(maxWait: maxWait + .milliseconds(500))) ?? []
        for (lane, part) in lanes.split(decode(delivered)) { backlog.append(part, for: lane) }
        for lane in backlog.waitingLanes {
            while let batch = backlog.takeBatch(for: lane, limit: laneBatchSize) { handoffs[lane].put(batch) }
        }
        consumer.close()
    }

    private func decode(_ messages: [JetStreamMessage]) -> FetchedBatch {
        let now = Date()
        return FetchedBatch(
            messages: messages,
            decoded: messages.map { decoder.decode(subject: $0.subject, headers: [:], body: $0.body, now: now) })
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
