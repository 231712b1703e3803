import BanditConfig
import BanditOperations
import BanditStore
import BanditTopology
import BanditWorker
import Foundation
import Logging
import NATSKit
import PostgresKit

/// Startup before any worker runs: PostgreSQL reachable (and migrated), NATS connected, streams
/// and consumers as configured, streams' max_age within the ledger's retention. Blocking: runs on
/// the pipeline's thread. Unreachable servers are retried with backoff until `stop`; anything a
/// retry cannot fix is a ``ConfigurationFailure`` (exit 78).
struct Bootstrap {
    struct Connected: Sendable {
        let nats: NATSConnection
        let topology: StreamTopology
    }

    let configuration: BanditdConfiguration
    let health: HealthState
    let notifier: SystemdNotifier
    let logger: Logger

    /// Nil if stop was requested before everything was up.
    func run(stop: StopSignal) throws -> Connected? {
        _ = try? notifier.status("starting: connecting to PostgreSQL")
        guard let database = try connectPostgres(stop: stop) else { return nil }
        defer { database.close() }  // each worker and job opens its own connection
        if configuration.postgres.migrateOnStart {
            let applied = try Migrator().migrate(on: database)
            if !applied.isEmpty {
                logger.info("database migrated", metadata: ["applied": "\(applied.map { "\($0.version) \($0.name)" })"])
            }
        }
        health.setPostgresConnected(true)

        _ = try? notifier.status("starting: connecting to NATS")
        guard let nats = try connectNATS(stop: stop) else { return nil }
        do {
            let topology = try ensureTopology(on: nats)
            health.setNATSConnected(true)
            return Connected(nats: nats, topology: topology)
        } catch {
            nats.close()
            throw error
        }
    }

    private func ensureTopology(on nats: NATSConnection) throws -> StreamTopology {
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
        return topology
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

    private func connectNATS(stop: StopSignal) throws -> NATSConnection? {
        var backoff = Backoff()
        let options = NATSOptionsFactory.make(configuration.nats)
        let (log, health, notifier) = (logger, health, notifier)
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
