import BanditCore
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Security against real servers: NATS TLS with client certificates, wrong NATS credentials,
/// and the health socket's mode and owner — through NATSKit and through the `banditd` binary.
@Suite(.postgresServer, .serialized)
struct SecurityProcessTests {
    static var binary: String { DaemonProcessTests.binary }

    private static func environment(
        natsURL: String, databaseURL: String, directory: TemporaryDirectory, notify: NotifySocket
    ) -> [String: String] {
        DaemonEnvironment.make(
            natsURLs: [natsURL], databaseURL: databaseURL, dropping: ["PG"],
            [
                "BANDITD_HEALTH_SOCKET": directory.appending("health.sock"), "BANDITD_MAX_WAIT_MS": "100",
                "NOTIFY_SOCKET": notify.path, "LOG_LEVEL": "info",
            ])
    }

    @Test func natsTLSWithAVerifiedClientCertificateConnectsAndWithoutOneFailsClearly() async throws {
        try await onDedicatedThread {
            let certificates = try TestCertificates.make()
            defer { certificates.directory.remove() }
            let server = try NATSServer.start(extraConfiguration: certificates.natsServerBlock)
            defer { server.stop() }
            let url = "tls://127.0.0.1:\(server.port)"

            let good = try NATSConnection(
                options: NATSConnectionOptions(
                    servers: [url],
                    tls: .init(
                        caFile: certificates.caFile, certificateFile: certificates.clientCertificate,
                        keyFile: certificates.clientKey)))
            #expect(good.isConnected)
            try good.flush()

            // No client certificate: the server refuses the handshake — an error, not a hang.
            var started = ContinuousClock.now
            let missing = #expect(throws: NATSError.self) {
                _ = try NATSConnection(
                    options: NATSConnectionOptions(servers: [url], tls: .init(caFile: certificates.caFile)))
            }
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(missing?.description.contains("over TLS without a client certificate") == true)
            print("no client certificate: \(missing.map { "\($0)" } ?? "-")")

            // A client certificate of another CA.
            started = ContinuousClock.now
            let stranger = #expect(throws: NATSError.self) {
                _ = try NATSConnection(
                    options: NATSConnectionOptions(
                        servers: [url],
                        tls: .init(
                            caFile: certificates.caFile, certificateFile: certificates.strangerCertificate,
                            keyFile: certificates.strangerKey)))
            }
            #expect(ContinuousClock.now - started < .seconds(10))
            print("client certificate of another CA: \(stranger.map { "\($0)" } ?? "-")")

            // A server certificate the client does not trust (the other CA as the client's roots).
            let untrusted = #expect(throws: NATSError.self) {
                _ = try NATSConnection(
                    options: NATSConnectionOptions(
                        servers: [url],
                        tls: .init(
                            caFile: certificates.directory.appending("other-ca.pem"),
                            certificateFile: certificates.clientCertificate, keyFile: certificates.clientKey)))
            }
            print("untrusted server certificate: \(untrusted.map { "\($0)" } ?? "-")")
            good.close()
        }
    }

    @Test func theDaemonGetsReadyOverNATSTLSAndItsHealthSocketIs0660OwnedByItsUser() async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let certificates = try TestCertificates.make()
            defer { certificates.directory.remove() }
            let server = try NATSServer.start(extraConfiguration: certificates.natsServerBlock)
            defer { server.stop() }
            let directory = try TemporaryDirectory(prefix: "banditd-sec")
            defer { directory.remove() }
            let notify = try NotifySocket(directory: directory.path)
            defer { notify.close() }
            let database = try postgres.createDatabase()
            var environment = Self.environment(
                natsURL: "tls://127.0.0.1:\(server.port)",
                databaseURL: "postgresql://postgres@127.0.0.1:\(postgres.port)/\(database)", directory: directory,
                notify: notify)
            environment["NATS_TLS_CA"] = certificates.caFile
            environment["NATS_TLS_CERT"] = certificates.clientCertificate
            environment["NATS_TLS_KEY"] = certificates.clientKey
            let daemon = try ChildProcess(
                Self.binary, arguments: ["run"], environment: environment, logFile: directory.appending("tls.log"))
            defer { daemon.stop() }
            try waitUntil(timeout: .seconds(30)) {
                guard daemon.isRunning else { throw TestSupportError("banditd exited: \(daemon.log())") }
                return notify.lines.contains("READY=1")
            }

            // One event through TLS.
            let nats = try NATSConnection(
                options: NATSConnectionOptions(
                    servers: ["tls://127.0.0.1:\(server.port)"],
                    tls: .init(
                        caFile: certificates.caFile, certificateFile: certificates.clientCertificate,
                        keyFile: certificates.clientKey)))
            let reward = try OperationsStack.inlineReward(
                user: "tls-user", policy: "linucb_v1", arm: "a1", features: [0.1, 0.2, 0.3, 0.4, 0.5], reward: 1)
            try nats.publish(subject: "feedback.reward", body: reward.body)
            let connection = try PostgresConnection(
                conninfo: "postgresql://postgres@127.0.0.1:\(postgres.port)/\(database)")
            try waitUntil(timeout: .seconds(20)) {
                try connection.query(
                    "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
                ).rows[0].int(0) == 1
            }

            // The health socket: mode 0660, owned by the daemon's user.
            let socket = directory.appending("health.sock")
            let status = try fileStatus(socket)
            #expect(status.mode == 0o660, "mode \(String(status.mode, radix: 8))")
            #expect(status.uid == (try processUID(daemon.pid)))

            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
            #expect(!daemon.log().contains("BEGIN"))  // no key material in the logs
        }
    }

    @Test func theDaemonGetsReadyWithACredsFileAndAForeignOneIsAClearStartupError() async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let directory = try TemporaryDirectory(prefix: "banditd-sec")
            defer { directory.remove() }
            let notify = try NotifySocket(directory: directory.path)
            defer { notify.close() }
            let keys = try NATSCredentials.generate(jwt: true, in: directory)
            func value(_ key: String) throws -> String {
                guard let value = keys[key] as? String else { throw TestSupportError("no \(key)") }
                return value
            }
            let creds = directory.appending("user.creds")
            try NATSCredentials.writeCreds(jwt: try value("user_jwt"), seed: try value("user_seed"), to: creds)
            let foreign = directory.appending("foreign.creds")
            try NATSCredentials.writeCreds(
                jwt: try value("stranger_jwt"), seed: try value("stranger_seed"), to: foreign)
            let server = try NATSServer.start(extraConfiguration: try NATSCredentials.operatorConfiguration(keys))
            defer { server.stop() }
            let database = try postgres.createDatabase()
            var environment = Self.environment(
                natsURL: server.url, databaseURL: "postgresql://postgres@127.0.0.1:\(postgres.port)/\(database)",
                directory: directory, notify: notify)

            // A user of another account (not signed by the server's operator): exits at once.
            environment["NATS_CREDS"] = foreign
            let refused = try ChildProcess(
                Self.binary, arguments: ["run"], environment: environment, logFile: directory.appending("foreign.log"))
            defer { refused.stop() }
            let status = refused.waitForExit(timeout: .seconds(15))
            #expect(status != nil && status != 0, "\(refused.log())")
            #expect(refused.log().contains("Authorization Violation"), "\(refused.log())")
            #expect(!refused.log().contains(try value("stranger_seed")))

            // The operator's user: streams, consumers and one event through JetStream.
            environment["NATS_CREDS"] = creds
            let daemon = try ChildProcess(
                Self.binary, arguments: ["run"], environment: environment, logFile: directory.appending("creds.log"))
            defer { daemon.stop() }
            try waitUntil(timeout: .seconds(30)) {
                guard daemon.isRunning else { throw TestSupportError("banditd exited: \(daemon.log())") }
                return notify.lines.contains("READY=1")
            }
            let nats = try NATSConnection(options: NATSConnectionOptions(servers: [server.url], credentialsFile: creds))
            let reward = try OperationsStack.inlineReward(
                user: "creds-user", policy: "linucb_v1", arm: "a1", features: [0.1, 0.2, 0.3, 0.4, 0.5], reward: 1)
            try nats.publish(subject: "feedback.reward", body: reward.body)
            let connection = try PostgresConnection(
                conninfo: "postgresql://postgres@127.0.0.1:\(postgres.port)/\(database)")
            try waitUntil(timeout: .seconds(20)) {
                try connection.query(
                    "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
                ).rows[0].int(0) == 1
            }
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
            #expect(!daemon.log().contains(try value("user_seed")))
        }
    }

    @Test func aDaemonWithoutItsClientCertificateOrWithAWrongNATSPasswordExitsAtOnceNamingTheError() async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let directory = try TemporaryDirectory(prefix: "banditd-sec")
            defer { directory.remove() }
            let notify = try NotifySocket(directory: directory.path)
            defer { notify.close() }
            let database = try postgres.createDatabase()
            let databaseURL = "postgresql://postgres@127.0.0.1:\(postgres.port)/\(database)"

            // Wrong password.
            let server = try NATSServer.start(
                extraConfiguration: "authorization { user: banditd, password: \"Right-Nats-Pw\" }")
            defer { server.stop() }
            var environment = Self.environment(
                natsURL: server.url, databaseURL: databaseURL, directory: directory, notify: notify)
            environment["NATS_USER"] = "banditd"
            environment["NATS_PASSWORD"] = "Wr0ng-Nats-Pw"
            var started = ContinuousClock.now
            let wrong = try ChildProcess(
                Self.binary, arguments: ["run"], environment: environment, logFile: directory.appending("wrong.log"))
            defer { wrong.stop() }
            let status = wrong.waitForExit(timeout: .seconds(15))
            #expect(status != nil && status != 0, "status \(String(describing: status)): \(wrong.log())")
            #expect(ContinuousClock.now - started < .seconds(15))
            #expect(wrong.log().contains("Authorization Violation"), "\(wrong.log())")
            #expect(!wrong.log().contains("Wr0ng-Nats-Pw"))
            #expect(!notify.lines.contains("READY=1"))

            // The right one gets ready (the same server, so the failure above was the password).
            environment["NATS_PASSWORD"] = "Right-Nats-Pw"
            let right = try ChildProcess(
                Self.binary, arguments: ["run"], environment: environment, logFile: directory.appending("right.log"))
            defer { right.stop() }
            do {
                // Generous: CI runs this while other suites load both cores.
                try waitUntil(timeout: .seconds(90)) {
                    guard right.isRunning else { throw TestSupportError("banditd exited: \(right.log())") }
                    return notify.lines.contains("READY=1")
                }
            } catch {
                throw TestSupportError(
                    "no READY=1 from the daemon with the right password (\(error)); notify: \(notify.lines); log:\n\(right.log())"
                )
            }
            right.signal(SIGTERM)
            #expect(right.waitForExit(timeout: .seconds(30)) == 0)
            #expect(!right.log().contains("Right-Nats-Pw"))

            // TLS server, daemon without a client certificate.
            let certificates = try TestCertificates.make()
            defer { certificates.directory.remove() }
            let tlsServer = try NATSServer.start(extraConfiguration: certificates.natsServerBlock)
            defer { tlsServer.stop() }
            var tlsEnvironment = Self.environment(
                natsURL: "tls://127.0.0.1:\(tlsServer.port)", databaseURL: databaseURL, directory: directory,
                notify: notify)
            tlsEnvironment["NATS_TLS_CA"] = certificates.caFile
            started = ContinuousClock.now
            let noCertificate = try ChildProcess(
                Self.binary, arguments: ["run"], environment: tlsEnvironment,
                logFile: directory.appending("no-cert.log"))
            defer { noCertificate.stop() }
            let noCertificateStatus = noCertificate.waitForExit(timeout: .seconds(30))
            print(
                "daemon without a client certificate: status \(String(describing: noCertificateStatus)) after \(ContinuousClock.now - started)\n\(noCertificate.log())"
            )
            #expect(noCertificateStatus != nil && noCertificateStatus != 0, "\(noCertificate.log())")
            #expect(noCertificate.log().contains("without a client certificate"), "\(noCertificate.log())")
        }
    }
}
