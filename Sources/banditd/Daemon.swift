import BanditConfig
import BanditCore
import BanditOperations
import BanditStore
import BanditTopology
import BanditWorker
import Foundation
import Logging
import NATSKit
import PostgresKit
import ServiceLifecycle
import Synchronization

/// The daemon's lifecycle: health socket → PostgreSQL (migrate) → NATS → streams → one worker
/// thread per consumer and worker index → READY=1; on SIGTERM: STOPPING=1, the workers stop
/// fetching and settle what they hold, connections close, exit 0.
struct Daemon: Service {
    let configuration: BanditdConfiguration
    let logger: Logger

    func run() async throws {
        let stop = StopSignal()
        try await withGracefulShutdownHandler {
            try await runOnThread(name: "banditd-main") { try runBlocking(stop: stop) }
        } onGracefulShutdown: {
            logger.info("shutdown requested")
            stop.request()
        }
    }

    private func runBlocking(stop: StopSignal) throws {
        let health = HealthState(version: Banditd.version)
        let notifier = try SystemdNotifier()
        let server = HealthSocketServer(path: configuration.healthSocket, health: health, logger: logger)
        try server.start()
        defer { server.stop() }
        let metricsServer = configuration.metricsListen.map {
            MetricsHTTPServer(host: $0.host, port: $0.port, health: health, logger: logger)
        }
        try metricsServer?.start()
        defer { metricsServer?.stop() }
        let watchdogPolicy = WatchdogPolicy.fromEnvironment(ProcessInfo.processInfo.environment, pid: getpid())
        let watchdog = ProgressWatchdog(stallThreshold: watchdogPolicy?.timeout ?? .seconds(60), logger: logger)
        if let watchdogPolicy { watchdog.start(interval: watchdogPolicy.pingInterval, notifier: notifier) }
        defer { watchdog.stop() }

        logger.info(
            "starting",
            metadata: [
                "version": "\(Banditd.version)",
                "nats_servers":
                    "\(configuration.nats.servers.map(NATSConnectionOptions.redactingURL).joined(separator: ","))",
                "postgres": "\(PostgresConninfo.redacted(configuration.postgres.url))",
                "health_socket": "\(configuration.healthSocket)",
                "metrics_listen": "\(configuration.metricsListen.map(\.description) ?? "off")",
            ])
        _ = try? notifier.status("starting: connecting to PostgreSQL")
        guard let database = try connectPostgres(stop: stop) else { return }
        if configuration.postgres.migrateOnStart {
            let applied = try Migrator().migrate(on: database)
            if !applied.isEmpty {
                logger.info("database migrated", metadata: ["applied": "\(applied.map { "\($0.version) \($0.name)" })"])
            }
        }
        database.close()  // each worker opens its own connection
        health.setPostgresConnected(true)

        _ = try? notifier.status("starting: connecting to NATS")
        guard let nats = try connectNATS(stop: stop, health: health, notifier: notifier) else { return }
        defer { nats.close() }
        health.setNATSConnected(true)

        let topology = StreamTopology(configuration.nats)
        let report = try topology.ensure(on: nats)
        for (name, action) in report.streams + report.consumers where action != .verified {
            logger.notice("stream topology", metadata: ["name": "\(name)", "action": "\(action)"])
        }
        // CONTRACT section 10: a message must not outlive its ledger row, or a redelivery or
        // re-publish after retention would apply it twice.
        let streams = try topology.streams.map { try nats.streamInfo($0.name).config }
        let tooLong = StreamTopology.maxAgeProblems(
            of: streams, ledgerRetention: configuration.lifecycle.ledgerRetention)
        if !tooLong.isEmpty {
            throw ConfigurationFailure(
                "\(tooLong.joined(separator: "; ")): nats.stream_max_age_s (\(configuration.nats.streamMaxAge.components.seconds) s) must stay at least a day below lifecycle.ledger_retention_days (\(configuration.lifecycle.ledgerRetentionDays) d), or a redelivered message could be applied twice after its ledger row is removed. Lower nats.stream_max_age_s (then run `banditd streams ensure`) or raise lifecycle.ledger_retention_days"
            )
        }

        let observer = DaemonObserver(health: health, watchdog: watchdog, notifier: notifier)
        let workers = WorkerThreads()
        let decoder = EventDecoder(
            policies: configuration.policies, maxPayloadBytes: configuration.processing.maxPayloadBytes)
        for spec in topology.consumers {
            for index in 0..<configuration.processing.workersPerConsumer {
                let workerConfiguration = ConsumerWorker.Configuration(
                    role: spec.role, stream: spec.stream,
                    consumer: spec.configuration.durableName
                        ?? "\(configuration.nats.durablePrefix)-\(spec.role.rawValue)",
                    workerIndex: index, batchSize: configuration.processing.batchSize,
                    lanes: configuration.processing.applyLanes,
                    maxWait: configuration.processing.maxWait, ackWait: configuration.nats.ackWait,
                    databaseURL: configuration.postgres.url,
                    settlement: SettlementPolicy(maxDeliver: configuration.nats.maxDeliver))
                let loops = workerConfiguration.loops
                for loop in loops { watchdog.register(loop: loop) }
                workers.start(name: "banditd-\(loops[0])", stop: stop, logger: logger) { [logger] in
                    let worker = try ConsumerWorker(
                        configuration: workerConfiguration, nats: nats, decoder: decoder, observer: observer,
                        logger: logger)
                    logger.info(
                        "bound to consumer",
                        metadata: [
                            "stream": "\(spec.stream)", "consumer": "\(workerConfiguration.consumer)",
                            "worker": "\(index)",
                        ])
                    return worker
                } finished: {
                    for loop in loops { watchdog.unregister(loop: loop) }
                }
            }
        }
        guard workers.waitUntilBound(expected: topology.consumers.count * configuration.processing.workersPerConsumer)
        else {
            stop.request()
            _ = workers.join(timeout: configuration.processing.shutdownGrace)
            throw DaemonError(
                message: "a worker could not bind its consumer: \(workers.failures.joined(separator: "; "))")
        }
        // Background job: parked rewards (joined when their decision lands, dead-lettered when
        // their wait is over). Runs like a worker: a thread, the watchdog watching it.
        let sweeperConfiguration = ParkedRewardSweeper.Configuration(
            databaseURL: configuration.postgres.url, policies: configuration.policies,
            earlyRewardWait: configuration.processing.earlyRewardWait,
            statementTimeout: configuration.nats.ackWait / 3)
        watchdog.register(loop: ParkedRewardSweeper.loop)
        let jobs = BackgroundJobs()
        jobs.start(name: "banditd-\(ParkedRewardSweeper.loop)") { [logger] in
            ParkedRewardSweeper(
                configuration: sweeperConfiguration, nats: nats, observer: observer,
                signalsHeld: { health.isHolding(.signals) }, logger: logger
            ).run(stop: stop)
        }

        // Background job: the reward loop's closing of decisions past their reward wait window.
        if RewardWindowCloser.isNeeded(for: configuration.policies) {
            let closerConfiguration = RewardWindowCloser.Configuration(
                databaseURL: configuration.postgres.url, policies: configuration.policies,
                statementTimeout: configuration.nats.ackWait / 3)
            watchdog.register(loop: RewardWindowCloser.loop)
            jobs.start(name: "banditd-\(RewardWindowCloser.loop)") { [logger] in
                RewardWindowCloser(configuration: closerConfiguration, observer: observer, logger: logger).run(
                    stop: stop)
            }
        }

        // Background job: the data lifecycle (old ledger rows and closed decisions).
        let retentionConfiguration = RetentionJob.Configuration(
            databaseURL: configuration.postgres.url,
            retention: Retention(
                ledgerRetention: configuration.lifecycle.ledgerRetention,
                decisionsRetention: configuration.lifecycle.decisionsRetention))
        watchdog.register(loop: RetentionJob.loop)
        jobs.start(name: "banditd-\(RetentionJob.loop)") { [logger] in
            RetentionJob(configuration: retentionConfiguration, observer: observer, logger: logger).run(stop: stop)
        }

        // Background job: messages whose deliveries ran out while no daemon processed them.
        let recoveryConfiguration = MaxDeliveriesRecovery.Configuration(
            stream: topology.recoveryConsumer.stream,
            consumer: topology.recoveryConsumer.configuration.durableName ?? "",
            databaseURL: configuration.postgres.url, statementTimeout: configuration.nats.ackWait / 3)
        watchdog.register(loop: MaxDeliveriesRecovery.loop)
        jobs.start(name: "banditd-\(MaxDeliveriesRecovery.loop)") { [logger] in
            MaxDeliveriesRecovery(
                configuration: recoveryConfiguration, nats: nats, decoder: decoder, observer: observer, logger: logger
            ).run(stop: stop)
        }

        health.markReady()
        _ = try? notifier.ready(status: health.statusLine())
        logger.info("ready", metadata: ["workers": "\(workers.count)"])

        // While running: every 2 s, probe PostgreSQL (health says `degraded` while it is
        // unreachable even when no message flows) and poll consumer info for the metrics.
        var probe: PostgresConnection?
        var probes = 0
        while !stop.sleep(.seconds(2)) {
            probes += 1
            let databaseAnswers: Bool
            do {
                let connection = try probe ?? PostgresConnection(conninfo: configuration.postgres.url)
                probe = connection
                _ = try connection.query("SELECT 1")
                databaseAnswers = true
            } catch {
                probe?.close()
                probe = nil
                databaseAnswers = false
            }
            // The ledger's size and the last retention run, every 30 s.
            if databaseAnswers, probes % 15 == 1, let probe,
                let ledger = try? LedgerStatus.read(on: probe)
            {
                health.setLedger(
                    HealthState.LedgerHealth(
                        estimatedRows: ledger.estimatedRows, oldestAgeSeconds: ledger.oldestAgeSeconds,
                        lastRunFinishedAt: ledger.lastRunFinishedAt, lastRunOutcome: ledger.lastRunOutcome,
                        lastRunLedgerDeleted: ledger.lastRunLedgerDeleted,
                        lastRunDecisionsDeleted: ledger.lastRunDecisionsDeleted))
            }
            if databaseAnswers != health.postgresConnected {
                health.setPostgresConnected(databaseAnswers)
                if databaseAnswers { health.metrics.recordDatabaseReconnect() }
                logger.log(
                    level: databaseAnswers ? .notice : .error,
                    databaseAnswers ? "PostgreSQL reachable again" : "PostgreSQL unreachable")
                _ = try? notifier.status(health.statusLine())
            }
            for spec in topology.consumers {
                guard
                    let info = try? nats.consumerInfo(
                        stream: spec.stream, consumer: spec.configuration.durableName ?? "")
                else { continue }
                health.metrics.setConsumerPending(spec.role, pending: info.pending, ackPending: UInt64(info.ackPending))
            }
            if let failure = workers.failures.first {
                logger.critical("a worker stopped", metadata: ["error": "\(failure)"])
                stop.request()
                break
            }
        }
        probe?.close()

        health.markStopping()
        _ = try? notifier.stopping(status: "stopping: settling in-flight messages")
        logger.info("stopping: settling in-flight messages")
        let clean = workers.join(timeout: configuration.processing.shutdownGrace)
        _ = jobs.join(timeout: .seconds(5))
        if !clean {
            logger.warning("shutdown grace ran out; unsettled messages are redelivered after ack wait")
        }
        if let failure = workers.failures.first { throw DaemonError(message: failure) }
        logger.info("stopped")
    }

    /// Connects, retrying with backoff while the server is unreachable; any other failure (a wrong
    /// password, a bad conninfo, an unknown database or role) is a ``ConfigurationFailure`` at once
    /// (exit 78). Returns nil if shutdown was requested meanwhile.
    private func connectPostgres(stop: StopSignal) throws -> PostgresConnection? {
        var backoff = Backoff()
        while !stop.isRequested {
            do {
                let connection = try PostgresConnection(conninfo: configuration.postgres.url)
                logger.info(
                    "connected to PostgreSQL",
                    metadata: ["postgres": "\(PostgresConninfo.redacted(configuration.postgres.url))"])
                return connection
            } catch {
                guard PostgresConnectFailure.classify(error, conninfo: configuration.postgres.url) == .unreachable
                else {
                    throw ConfigurationFailure("cannot connect to PostgreSQL with this configuration: \(error)")
                }
                let delay = backoff.next()
                logger.warning(
                    "PostgreSQL unreachable, retrying",
                    metadata: ["error": "\(error)", "retry_in_ms": .milliseconds(delay)])
                if stop.sleep(delay) { return nil }
            }
        }
        return nil
    }

    private func connectNATS(stop: StopSignal, health: HealthState, notifier: SystemdNotifier) throws
        -> NATSConnection?
    {
        var backoff = Backoff()
        let options = NATSOptionsFactory.make(configuration.nats)
        let log = logger
        while !stop.isRequested {
            do {
                let connection = try NATSConnection(options: options) { event in
                    switch event {
                    case .disconnected:
                        if health.status != .stopping { log.warning("NATS disconnected; reconnecting") }
                        health.setNATSConnected(false)
                    case .reconnected(let url):
                        log.notice("NATS reconnected", metadata: ["url": "\(url ?? "?")"])
                        health.setNATSConnected(true)
                        health.metrics.recordNATSReconnect()
                    case .closed:
                        health.setNATSConnected(false)
                    case .asyncError(let text):
                        log.error("NATS asynchronous error", metadata: ["error": "\(text)"])
                    }
                    _ = try? notifier.status(health.statusLine())
                }
                logger.info("connected to NATS", metadata: ["url": "\(connection.connectedURL ?? "?")"])
                return connection
            } catch {
                guard NATSConnectFailure.classify(error, servers: configuration.nats.servers) == .unreachable else {
                    throw ConfigurationFailure("cannot connect to NATS with this configuration: \(error)")
                }
                let delay = backoff.next()
                logger.warning(
                    "NATS unreachable, retrying", metadata: ["error": "\(error)", "retry_in_ms": .milliseconds(delay)])
                if stop.sleep(delay) { return nil }
            }
        }
        return nil
    }
}

struct DaemonError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Threads of the background jobs (e.g. the parked-reward sweeper): each runs until stop.
final class BackgroundJobs: Sendable {
    private let group = DispatchGroup()

    func start(name: String, _ body: @escaping @Sendable () -> Void) {
        group.enter()
        let thread = Thread { [group] in
            body()
            group.leave()
        }
        thread.name = name
        thread.stackSize = 4 << 20
        thread.start()
    }

    func join(timeout: Duration) -> Bool {
        group.wait(timeout: .now() + .milliseconds(Int(timeout.components.seconds) * 1000)) == .success
    }
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

    /// Waits up to `timeout` for every worker to return; false if some are still running.
    func join(timeout: Duration) -> Bool {
        let (seconds, attoseconds) = timeout.components
        return group.wait(
            timeout: .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)))
            == .success
    }
}
