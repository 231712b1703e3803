import BanditConfig
import BanditLifecycle
import BanditOperations
import Foundation
import Logging
import NATSKit
import PostgresKit
import ServiceLifecycle

/// `banditd run`, wired: the health socket, the metrics endpoint and the watchdog start first (a
/// failure there ends the process before it touches a server), then one `ServiceGroup` runs
/// them and the ``PipelineService``. SIGTERM and SIGINT shut the group down gracefully in reverse
/// order: the pipeline (its workers settle first, then its jobs and probes), the watchdog, the
/// metrics endpoint, the health socket.
struct Daemon {
    let configuration: BanditdConfiguration
    let logger: Logger

    func run() async throws {
        let health = HealthState(version: Banditd.version)
        let notifier = try SystemdNotifier()
        let watchdogPolicy = WatchdogPolicy.fromEnvironment(ProcessInfo.processInfo.environment, pid: getpid())
        let watchdog = ProgressWatchdog(stallThreshold: watchdogPolicy?.timeout ?? .seconds(60), logger: logger)
        let observer = DaemonObserver(health: health, watchdog: watchdog, notifier: notifier)

        let healthSocket = HealthSocketServer(path: configuration.healthSocket, health: health, logger: logger)
        try healthSocket.start()
        var services: [any Service] = [StartedResourceService(name: "health-socket") { healthSocket.stop() }]
        if let listen = configuration.metricsListen {
            let metricsServer = MetricsHTTPServer(host: listen.host, port: listen.port, health: health, logger: logger)
            do { try metricsServer.start() } catch {
                healthSocket.stop()
                throw error
            }
            services.append(StartedResourceService(name: "metrics-http") { metricsServer.stop() })
        }
        if let watchdogPolicy { watchdog.start(interval: watchdogPolicy.pingInterval, notifier: notifier) }
        services.append(StartedResourceService(name: "watchdog") { watchdog.stop() })

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
        services.append(PipelineService(configuration: configuration, observer: observer, logger: logger))

        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}
