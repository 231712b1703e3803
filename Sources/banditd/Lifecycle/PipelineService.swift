import BanditConfig
import BanditCore
import BanditLifecycle
import BanditOperations
import BanditStore
import BanditWorker
import Logging
import ServiceLifecycle

/// Everything that needs the servers: ``Bootstrap`` first (connect, migrate, ensure streams),
/// then a group of its own: the database probe, the consumer-info poll, the background jobs and
/// last the workers. The group shuts down in reverse order, so on SIGTERM the workers settle
/// first while the jobs and probes still run; the NATS connection closes after all of them.
struct PipelineService: Service, CustomStringConvertible {
    let configuration: BanditdConfiguration
    let observer: DaemonObserver
    let logger: Logger

    var description: String { "pipeline" }

    func run() async throws {
        let bootstrap = Bootstrap(
            configuration: configuration, health: observer.health, notifier: observer.notifier, logger: logger)
        let connected = try await runUntilShutdown(name: "banditd-bootstrap") { stop in try bootstrap.run(stop: stop) }
        guard let connected = connected ?? nil else { return }  // stopped while starting
        defer { connected.nats.close() }

        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services(connected).map {
                    .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup)
                },
                logger: logger))
        try await group.run()
    }

    /// In start order; shutdown goes the other way.
    private func services(_ connected: Bootstrap.Connected) -> [any Service] {
        let database = configuration.postgres.url
        let statementTimeout = configuration.nats.ackWait / 3
        let decoder = EventDecoder(
            policies: configuration.policies, maxPayloadBytes: configuration.processing.maxPayloadBytes)
        let (nats, observer, logger, health) = (connected.nats, observer, logger, observer.health)
        // A backlog: more pending on a consumer than one round of this daemon's fetches takes.
        let processing = configuration.processing
        let backlog = ConsumerBacklog(
            threshold: UInt64(processing.batchSize * processing.applyLanes * processing.workersPerConsumer))
        var services: [any Service] = [
            DatabaseProbe(databaseURL: database, observer: observer, logger: logger).service,
            ConsumerInfoPoll(
                nats: nats, consumers: connected.topology.consumers, observer: observer, backlog: backlog
            ).service,
        ]

        // Parked rewards: joined when their decision lands, dead-lettered when their wait is over.
        let sweeper = ParkedRewardSweeper.Configuration(
            databaseURL: database, policies: configuration.policies,
            earlyRewardWait: configuration.processing.earlyRewardWait, statementTimeout: statementTimeout)
        services.append(
            job(ParkedRewardSweeper.loop) { stop in
                ParkedRewardSweeper(
                    configuration: sweeper, nats: nats, observer: observer,
                    signalsHeld: { health.isHolding(.signals) }, logger: logger
                ).run(stop: stop)
            })

        // The reward loop: decisions past their reward wait window close with the default reward.
        if RewardWindowCloser.isNeeded(for: configuration.policies) {
            let closer = RewardWindowCloser.Configuration(
                databaseURL: database, policies: configuration.policies, statementTimeout: statementTimeout)
            services.append(
                job(RewardWindowCloser.loop) { stop in
                    RewardWindowCloser(configuration: closer, observer: observer, logger: logger).run(stop: stop)
                })
        }

        // The data lifecycle: old ledger rows and closed decisions.
        let retention = RetentionJob.Configuration(
            databaseURL: database,
            retention: Retention(
                ledgerRetention: configuration.lifecycle.ledgerRetention,
                decisionsRetention: configuration.lifecycle.decisionsRetention),
            backlogged: { backlog.isDraining })
        services.append(
            job(RetentionJob.loop) { stop in
                RetentionJob(configuration: retention, observer: observer, logger: logger).run(stop: stop)
            })

        // Messages whose deliveries ran out while no daemon processed them.
        let recovery = MaxDeliveriesRecovery.Configuration(
            stream: connected.topology.recoveryConsumer.stream,
            consumer: connected.topology.recoveryConsumer.configuration.durableName ?? "",
            databaseURL: database, statementTimeout: statementTimeout)
        services.append(
            job(MaxDeliveriesRecovery.loop) { stop in
                MaxDeliveriesRecovery(
                    configuration: recovery, nats: nats, decoder: decoder, observer: observer, logger: logger
                ).run(stop: stop)
            })

        services.append(
            WorkerGroup(
                configuration: configuration, connected: connected, decoder: decoder, observer: observer,
                logger: logger
            ).service)
        return services
    }

    /// A background job: a thread the watchdog watches from the start (its loop must beat).
    private func job(_ loop: String, _ body: @escaping @Sendable (StopSignal) -> Void) -> ThreadService {
        observer.watchdog.register(loop: loop)
        return ThreadService(name: "banditd-\(loop)", abandonAfter: .seconds(5)) { stop in body(stop) }
    }
}
