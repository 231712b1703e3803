import BanditCore
import Foundation
import Logging
import NATSKit

/// A worker's fetch side, on a thread of its own: pulls a batch, decodes it and hands each apply
/// lane its users' part (`ApplyLanes`), then pulls the next while the lanes commit. Waits until
/// every lane has room before it fetches, so it holds no batch of its own; messages an open pull
/// request delivers while it waits are taken and kept alive (`+WPI`) until there is room.
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
        func handOver(_ messages: [JetStreamMessage]) {
            for (lane, part) in lanes.split(decode(messages)) { handoffs[lane].put(part) }
        }
        var waiting: [JetStreamMessage] = []
        var lastKeepAlive = ContinuousClock.now
        var backoff = Backoff()
        while !stop.isRequested {
            observer.loopBeat(loop)
            guard BatchHandoff.waitForSpace(in: handoffs, timeout: .seconds(1)) else {
                if stop.isRequested { break }
                // The apply side is busy or holding: take what open pulls deliver meanwhile and keep
                // it alive, or its ack wait would spend a delivery.
                waiting += (try? consumer.takeDelivered()) ?? []
                if !waiting.isEmpty && ContinuousClock.now - lastKeepAlive >= keepAliveInterval {
                    for message in waiting { try? nats.inProgress(message) }
                    lastKeepAlive = ContinuousClock.now
                }
                continue
            }
            if !waiting.isEmpty {
                let next = Array(waiting.prefix(batchSize))
                waiting.removeFirst(next.count)
                handOver(next)
                continue
            }
            do {
                let messages = try consumer.fetch(maxMessages: batchSize, maxWait: maxWait)
                backoff = Backoff()
                if !messages.isEmpty {
                    handOver(messages)
                    lastKeepAlive = ContinuousClock.now
                }
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
        // Shutdown: what the open pull requests still deliver is settled too.
        waiting += (try? consumer.finish(maxWait: maxWait + .milliseconds(500))) ?? []
        while !waiting.isEmpty {
            let next = Array(waiting.prefix(batchSize))
            waiting.removeFirst(next.count)
            handOver(next)
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
