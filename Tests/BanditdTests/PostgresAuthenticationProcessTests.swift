import Foundation
import PostgresKit
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// PostgreSQL with scram-sha-256 over TCP and TLS (`sslmode=verify-ca`): `banditd migrate` and
/// `banditd run` with the right password work, with a wrong one they stop at once with the
/// server's error, and the password never shows.
@Suite(.postgresServer, .serialized)
struct PostgresAuthenticationProcessTests {
    static var binary: String { DaemonProcessTests.binary }
    static let rightPassword = "R1ght-Pg-Secret"
    static let wrongPassword = "Wr0ng-Pg-Secret"

    /// The suite's server (its own) now requires scram-sha-256 over TCP and TLS for the role
    /// `bandit`; the harness keeps trust on the unix socket.
    private static func requireScramAndTLS(
        _ postgres: PostgresServer, certificates: TestCertificates
    ) throws -> String {
        let hba = """
            local all all trust
            hostssl all bandit 127.0.0.1/32 scram-sha-256
            host all bandit 127.0.0.1/32 reject
            host all all 127.0.0.1/32 trust

            """
        let hbaFile = "\(postgres.dataDirectory)/pg_hba.conf"
        try hba.write(toFile: hbaFile, atomically: false, encoding: .utf8)
        chmod(certificates.serverKey, 0o600)
        try postgres.psql("ALTER SYSTEM SET ssl_cert_file = '\(certificates.serverCertificate)'")
        try postgres.psql("ALTER SYSTEM SET ssl_key_file = '\(certificates.serverKey)'")
        try postgres.psql("ALTER SYSTEM SET ssl = on")
        try postgres.psql("SELECT pg_reload_conf()")
        try postgres.psql(
            "SET password_encryption = 'scram-sha-256'; CREATE ROLE bandit LOGIN PASSWORD '\(rightPassword)'")
        let database = try postgres.createDatabase()
        try postgres.psql("ALTER DATABASE \"\(database)\" OWNER TO bandit")
        // The reload is asynchronous: wait until TLS is on.
        try waitUntil(timeout: .seconds(10)) { try postgres.psql("SHOW ssl") == "on" }
        return database
    }

    private static func conninfo(
        _ postgres: PostgresServer, database: String, password: String, rootCertificate: String
    ) -> String {
        "host=127.0.0.1 port=\(postgres.port) user=bandit password=\(password) dbname=\(database) "
            + "sslmode=verify-ca sslrootcert=\(rootCertificate) connect_timeout=5"
    }

    private static func environment(databaseURL: String, natsURL: String, directory: TemporaryDirectory)
        -> [String: String]
    {
        DaemonEnvironment.make(
            natsURLs: [natsURL], databaseURL: databaseURL, dropping: ["PG"],
            ["BANDITD_HEALTH_SOCKET": directory.appending("health.sock"), "LOG_LEVEL": "info"])
    }

    /// Runs `banditd ARGS` and returns (status, output, seconds); nil status if it outlived the limit.
    private static func run(
        _ arguments: [String], environment: [String: String], directory: TemporaryDirectory, limit: Duration
    ) throws -> (status: Int32?, output: String, elapsed: Duration) {
        let started = ContinuousClock.now
        let child = try ChildProcess(
            binary, arguments: arguments, environment: environment,
            logFile: directory.appending("\(arguments[0])-\(UUID().uuidString).log"))
        let status = child.waitForExit(timeout: limit)
        let elapsed = ContinuousClock.now - started
        child.stop()
        return (status, child.log(), elapsed)
    }

    @Test func scramOverVerifiedTLSWorksAndAWrongPasswordIsAnImmediateClearError() async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let certificates = try TestCertificates.make(owner: geteuid() == 0 ? "postgres" : nil)
            defer { certificates.directory.remove() }
            let database = try Self.requireScramAndTLS(postgres, certificates: certificates)
            let directory = try TemporaryDirectory(prefix: "banditd-pgauth")
            defer { directory.remove() }
            let nats = try NATSServer.start()
            defer { nats.stop() }
            let right = Self.conninfo(
                postgres, database: database, password: Self.rightPassword, rootCertificate: certificates.caFile)
            let wrong = Self.conninfo(
                postgres, database: database, password: Self.wrongPassword, rootCertificate: certificates.caFile)

            // PostgresKit: the session is TLS and scram-authenticated.
            let connection = try PostgresConnection(conninfo: right)
            #expect(
                try connection.query("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()").rows[0].string(0)
                    == "true")
            let method = try postgres.psql(
                "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'bandit'")
            #expect(method == "t")
            // Without TLS the role is rejected (hostssl only).
            #expect(throws: PostgresError.self) {
                _ = try PostgresConnection(
                    conninfo: "host=127.0.0.1 port=\(postgres.port) user=bandit password=\(Self.rightPassword) "
                        + "dbname=\(database) sslmode=disable connect_timeout=5")
            }
            // A server certificate of another CA fails verify-ca.
            let otherCA = certificates.directory.appending("other-ca.pem")
            let untrusted = #expect(throws: PostgresError.self) {
                _ = try PostgresConnection(
                    conninfo: Self.conninfo(
                        postgres, database: database, password: Self.rightPassword, rootCertificate: otherCA))
            }
            print("verify-ca with another CA: \(untrusted.map { "\($0)" } ?? "-")")
            // PostgresKit: a wrong password is category other (not retried), and not echoed.
            let refused = #expect(throws: PostgresError.self) { _ = try PostgresConnection(conninfo: wrong) }
            #expect(refused?.category == .other)
            #expect(refused.map { "\($0)" }?.contains(Self.wrongPassword) == false)

            // banditd migrate, right password.
            let migrated = try Self.run(
                ["migrate"], environment: Self.environment(databaseURL: right, natsURL: nats.url, directory: directory),
                directory: directory, limit: .seconds(60))
            #expect(migrated.status == 0, "\(migrated.output)")
            #expect(!migrated.output.contains(Self.rightPassword))
            #expect(try connection.query("SELECT count(*) FROM schema_migrations").rows[0].int(0) >= 1)

            // banditd migrate, wrong password: fails at once, names the error, hides the password.
            let failed = try Self.run(
                ["migrate"], environment: Self.environment(databaseURL: wrong, natsURL: nats.url, directory: directory),
                directory: directory, limit: .seconds(20))
            #expect(failed.status != nil && failed.status != 0, "\(failed.output)")
            #expect(failed.elapsed < .seconds(10))
            #expect(failed.output.contains("password authentication failed"), "\(failed.output)")
            #expect(!failed.output.contains(Self.wrongPassword))
            print("migrate, wrong password: status \(String(describing: failed.status)) in \(failed.elapsed)")

            // banditd run, wrong password: exits with the authentication error, no retry loop.
            let daemon = try Self.run(
                ["run"], environment: Self.environment(databaseURL: wrong, natsURL: nats.url, directory: directory),
                directory: directory, limit: .seconds(20))
            #expect(daemon.status != nil && daemon.status != 0, "\(daemon.output)")
            #expect(daemon.elapsed < .seconds(10))
            #expect(daemon.output.contains("password authentication failed"), "\(daemon.output)")
            #expect(!daemon.output.contains(Self.wrongPassword))
            #expect(!daemon.output.contains("retrying"))
            print("run, wrong password: status \(String(describing: daemon.status)) in \(daemon.elapsed)")

            // banditd run, right password over TLS: ready.
            let notify = try NotifySocket(directory: directory.path)
            defer { notify.close() }
            var environment = Self.environment(databaseURL: right, natsURL: nats.url, directory: directory)
            environment["NOTIFY_SOCKET"] = notify.path
            let good = try ChildProcess(
                Self.binary, arguments: ["run"], environment: environment, logFile: directory.appending("good.log"))
            defer { good.stop() }
            try waitUntil(timeout: .seconds(30)) {
                guard good.isRunning else { throw TestSupportError("banditd exited: \(good.log())") }
                return notify.lines.contains("READY=1")
            }
            good.signal(SIGTERM)
            #expect(good.waitForExit(timeout: .seconds(30)) == 0)
            #expect(!good.log().contains(Self.rightPassword))
        }
    }
}
