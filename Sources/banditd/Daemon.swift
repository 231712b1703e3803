import BanditConfig
import BanditStore
import BanditTopology
import BanditWorker
import Logging
import NATSKit
import PostgresKit
import ServiceLifecycle

/// The daemon's lifecycle: start (with retries while a dependency is unreachable), bind, wait for
/// shutdown, close. Blocking C calls happen on one thread of our own.
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
        logger.info(
            "starting",
            metadata: [
                "version": "\(Banditd.version)",
                "nats_servers": "\(configuration.nats.servers.map(NATSConnectionOptions.redactingURL))",
                "postgres": "\(PostgresConninfo.redacted(configuration.postgres.url))",
            ])
        guard let database = try connectPostgres(stop: stop) else { return }
        defer { database.close() }
        if configuration.postgres.migrateOnStart {
            let applied = try Migrator().migrate(on: database)
            logger.info(
                "database migrated",
                metadata: ["applied": "\(applied.map { "\($0.version)_\($0.name)" })"])
        }
        guard let nats = try connectNATS(stop: stop) else { return }
        defer { nats.close() }

        let topology = StreamTopology(configuration.nats)
        _ = try topology.ensure(on: nats)
        var consumers: [PullConsumer] = []
        for spec in topology.consumers {
            let consumer = try PullConsumer(
                connection: nats, stream: spec.stream, consumer: spec.configuration.durableName ?? spec.role)
            consumers.append(consumer)
            logger.info(
                "bound to consumer",
                metadata: ["stream": "\(spec.stream)", "consumer": "\(consumer.consumer)", "role": "\(spec.role)"])
        }
        defer { consumers.forEach { $0.close() } }
        logger.info("ready")

        stop.wait()
        logger.info("stopping")
    }

    /// Connects, retrying with backoff while the server is unreachable; any other failure (a wrong
    /// password, a bad conninfo) is fatal at once. Returns nil if shutdown was requested meanwhile.
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
                guard error.category == .connection else { throw error }
                let delay = backoff.next()
                logger.warning(
                    "PostgreSQL unreachable, retrying",
                    metadata: ["error": "\(error)", "retry_in_ms": "\(delay.milliseconds)"])
                if stop.sleep(delay) { return nil }
            }
        }
        return nil
    }

    private func connectNATS(stop: StopSignal) throws -> NATSConnection? {
        var backoff = Backoff()
        let options = NATSOptionsFactory.make(configuration.nats)
        let log = logger
        while !stop.isRequested {
            do {
                let connection = try NATSConnection(options: options) { event in
                    switch event {
                    case .disconnected: log.warning("NATS disconnected; reconnecting")
                    case .reconnected(let url): log.info("NATS reconnected", metadata: ["url": "\(url ?? "?")"])
                    case .closed: log.info("NATS connection closed")
                    case .asyncError(let text): log.error("NATS asynchronous error", metadata: ["error": "\(text)"])
                    }
                }
                logger.info("connected to NATS", metadata: ["url": "\(connection.connectedURL ?? "?")"])
                return connection
            } catch {
                guard error.isNoServer else { throw error }
                let delay = backoff.next()
                logger.warning(
                    "NATS unreachable, retrying",
                    metadata: ["error": "\(error)", "retry_in_ms": "\(delay.milliseconds)"])
                if stop.sleep(delay) { return nil }
            }
        }
        return nil
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
