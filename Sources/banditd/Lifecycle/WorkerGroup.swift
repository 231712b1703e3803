import BanditConfig
import BanditCore
import BanditLifecycle
import BanditOperations
import BanditTopology
import BanditWorker
import Foundation
import Logging
import NATSKit
import Synchronization

/// Every consumer's workers: binds them all, says READY=1, runs until stopped or until one
/// fails, then STOPPING=1 and lets each settle what it holds within the shutdown grace. Runs as
/// the last service of the pipeline's group, so shutdown reaches it first and the background
/// jobs, probes and the watchdog keep going while it settles.
struct WorkerGroup {
    let configuration: BanditdConfiguration
    let connected: Bootstrap.Connected
    let decoder: EventDecoder
    let observer: DaemonObserver
    let logger: Logger

    var service: ThreadService {
        ThreadService(name: "banditd-workers") { stop in try run(stop: stop) }
    }

    func run(stop: StopSignal) throws {
        let (health, watchdog, notifier) = (observer.health, observer.watchdog, observer.notifier)
        let workers = WorkerThreads()
        let perConsumer = configuration.processing.workersPerConsumer
        for spec in connected.topology.consumers {
            for index in 0..<perConsumer {
                start(spec: spec, index: index, in: workers, stop: stop, watchdog: watchdog)
            }
        }
        guard workers.waitUntilBound(expected: connected.topology.consumers.count * perConsumer) else {
            stop.request()
            _ = workers.join(timeout: configuration.processing.shutdownGrace)
            throw DaemonError(
                message: "a worker could not bind its consumer: \(workers.failures.joined(separator: "; "))")
        }
        health.markReady()
        _ = try? notifier.ready(status: health.statusLine())
        logger.info("ready", metadata: ["workers": "\(workers.count)"])

        let failure = workers.waitUntilStoppedOrFailed(stop: stop)
        if let failure { logger.critical("a worker stopped", metadata: ["error": "\(failure)"]) }
        health.markStopping()
        _ = try? notifier.stopping(status: "stopping: settling in-flight messages")
        logger.info("stopping: settling in-flight messages")
        stop.request()
        if !workers.join(timeout: configuration.processing.shutdownGrace) {
            logger.warning("shutdown grace ran out; unsettled messages are redelivered after ack wait")
        }
        if let failure { throw DaemonError(message: failure) }
    }

    private func start(
        spec: StreamTopology.WorkerConsumer, index: Int, in workers: WorkerThreads, stop: StopSignal,
        watchdog: ProgressWatchdog
    ) {
        let workerConfiguration = ConsumerWorker.Configuration(
            role: spec.role, stream: spec.stream,
            consumer: spec.configuration.durableName ?? "\(configuration.nats.durablePrefix)-\(spec.role.rawValue)",
            workerIndex: index, batchSize: configuration.processing.batchSize,
            lanes: configuration.processing.applyLanes,
            maxWait: configuration.processing.maxWait, ackWait: configuration.nats.ackWait,
            databaseURL: configuration.postgres.url,
            settlement: SettlementPolicy(maxDeliver: configuration.nats.maxDeliver))
        let loops = workerConfiguration.loops
        for loop in loops { watchdog.register(loop: loop) }
        let (nats, decoder, observer, logger) = (connected.nats, decoder, observer, logger)
        workers.start(name: "banditd-\(loops[0])", stop: stop, logger: logger) {
            let worker = try ConsumerWorker(
                configuration: workerConfiguration, nats: nats, decoder: decoder, observer: observer, logger: logger)
            logger.info(
                "bound to consumer",
                metadata: [
                    "stream": "\(spec.stream)", "consumer": "\(workerConfiguration.consumer)", "worker": "\(index)",
                ])
            return worker
        } finished: {
            for loop in loops { watchdog.unregister(loop: loop) }
        }
    }
}

struct DaemonError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// The worker threads: each builds its `ConsumerWorker` on itself (a worker belongs to the thread
/// that runs it), reports that it is bound, runs until stop, and records an error it ends with.
final class WorkerThreads: Sendable {
    private struct State {
        var started = 0
        var bound = 0
        var failures: [String] = []
    }

    private let state = Mutex(State())
    private let changed = DispatchSemaphore(value: 0)
    private let group = DispatchGroup()

    var count: Int { state.withLock { $0.started } }
    var failures: [String] { state.withLock { $0.failures } }

    func start(
        name: String, stop: StopSignal, logger: Logger, make: @escaping @Sendable () throws -> ConsumerWorker,
        finished: @escaping @Sendable () -> Void
    ) {
        state.withLock { $0.started += 1 }
        group.enter()
        let thread = Thread { [self] in
            defer {
                finished()
                group.leave()
            }
            do {
                let worker = try make()
                state.withLock { $0.bound += 1 }
                changed.signal()
                try worker.run(stop: stop)
            } catch {
                logger.critical("worker failed", metadata: ["thread": "\(name)", "error": "\(error)"])
                state.withLock { $0.failures.append("\(name): \(error)") }
                changed.signal()
            }
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Blocks until `expected` workers are bound (true) or one failed first (false).
    func waitUntilBound(expected: Int) -> Bool {
        while true {
            let (bound, failed) = state.withLock { ($0.bound, !$0.failures.isEmpty) }
            if failed { return false }
            if bound >= expected { return true }
            changed.wait()
        }
    }

    /// Blocks until stop is requested (nil) or a worker fails (its error).
    func waitUntilStoppedOrFailed(stop: StopSignal) -> String? {
        while !stop.sleep(.milliseconds(500)) {
            if let failure = failures.first { return failure }
        }
        return failures.first
    }

    /// Waits up to `timeout` for every worker to return; false if some are still running.
    func join(timeout: Duration) -> Bool {
        let (seconds, attoseconds) = timeout.components
        return group.wait(
            timeout: .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)))
            == .success
    }
}
