import Foundation
import PostgresKit
import TestSupport
import Testing

/// Startup classification of a failed connect: retry only while the server cannot be reached.
@Suite(.postgresServer, .serialized)
struct ConnectFailureTests {
    @Test(arguments: [
        #"connection to server at "127.0.0.1", port 5 failed: Connection refused"#,
        #"connection to server on socket "/run/postgresql/.s.PGSQL.5432" failed: No such file or directory"#,
        "connection to server at \"10.0.0.1\", port 5432 failed: timeout expired",
        #"could not translate host name "db" to address: Temporary failure in name resolution"#,
        #"connection to server at "db" (10.0.0.1), port 5432 failed: No route to host"#,
        "connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  the database system is starting up",
        "connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  the database system is shutting down",
        "connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  sorry, too many clients already",
        "server closed the connection unexpectedly",
    ])
    func anUnreachableOrNotYetReadyServerIsRetried(message: String) {
        #expect(PostgresConnectFailure(connectMessage: message) == .unreachable)
    }

    @Test(arguments: [
        #"invalid port number: "notaport""#,
        #"invalid sslmode value: "bogus""#,
        #"invalid connection option "colour""#,
        #"missing "=" after "garbage" in connection info string"#,
        #"could not translate host name "nohost" to address: Name or service not known"#,
        "connection to server at \"db\", port 5432 failed: FATAL:  password authentication failed for user \"u\"",
        "connection to server at \"db\", port 5432 failed: FATAL:  database \"nope\" does not exist",
        "connection to server at \"db\", port 5432 failed: FATAL:  role \"nobody\" does not exist",
        "connection to server at \"db\", port 5432 failed: FATAL:  no pg_hba.conf entry for host \"1.2.3.4\"",
        "connection to server at \"db\", port 5432 failed: fe_sendauth: no password supplied",
        "connection to server at \"db\", port 5432 failed: SSL error: certificate verify failed",
        // Several hosts: one down, one refusing us: waiting for the first does not fix the second.
        "connection to server at \"a\" failed: Connection refused\nconnection to server at \"b\" failed: "
            + "FATAL:  password authentication failed for user \"u\"",
    ])
    func aConfigurationTheServerOrLibpqRefusesIsNotRetried(message: String) {
        #expect(PostgresConnectFailure(connectMessage: message) == .misconfigured)
    }

    @Test func anUnknownTextIsNotGuessed() {
        #expect(PostgresConnectFailure(connectMessage: "FATAL:  das Datenbanksystem startet") == nil)
    }

    /// Real failures from libpq and the suite's server, classified end to end (PQping decides
    /// where the text is not recognized).
    @Test func realConnectFailuresAreClassified() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let database = try server.createDatabase()
            let closedPort = try FreePort.allocate()
            let cases: [(String, PostgresConnectFailure)] = [
                ("host=127.0.0.1 port=\(closedPort) dbname=x user=postgres connect_timeout=5", .unreachable),
                ("postgresql://postgres@127.0.0.1:notaport/\(database)", .misconfigured),
                ("host=127.0.0.1 port=\(server.port) dbname=\(database) user=postgres sslmode=bogus", .misconfigured),
                ("host=127.0.0.1 port=\(server.port) dbname=no_such_database user=postgres", .misconfigured),
                ("host=127.0.0.1 port=\(server.port) dbname=\(database) user=no_such_role", .misconfigured),
                ("host=127.0.0.1 port=\(server.port) dbname=\(database) user=postgres colour=blue", .misconfigured),
                ("garbage", .misconfigured),
                ("postgresql://postgres@no-such-host.invalid:5432/x", .misconfigured),
            ]
            for (conninfo, expected) in cases {
                let error = #expect(throws: PostgresError.self) { _ = try PostgresConnection(conninfo: conninfo) }
                let failure = try #require(error)
                #expect(
                    PostgresConnectFailure.classify(failure, conninfo: conninfo) == expected,
                    "\(PostgresConninfo.redacted(conninfo)): \(failure)")
            }
        }
    }
}
