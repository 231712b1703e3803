import Foundation
import TestSupport
import Testing

@Suite(.postgresServer, .serialized)
struct PostgresServerHarnessTests {
    @Test func theSuiteServerAcceptsConnectionsAndCreatesDatabases() throws {
        let server = try PostgresServer.requireCurrent()
        let database = try server.createDatabase()
        #expect(try server.psql("SELECT 1 + 1", database: database) == "2")
        #expect(server.conninfo(database: database).contains("port=\(server.port)"))
    }

    @Test func restartKeepsThePortAndTerminateBackendsReportsACount() throws {
        let server = try PostgresServer.requireCurrent()
        try server.restart(mode: .immediate)
        #expect(try server.psql("SELECT current_setting('port')") == String(server.port))
        #expect(try server.terminateBackends() == 0)
    }

    @Test func aMissingBinaryIsALoudErrorNamingTheVariable() {
        #expect {
            try Executable.locate("no-such-binary-banditd", environmentOverride: "BANDITD_TEST_NOPE")
        } throws: { error in
            "\(error)".contains("BANDITD_TEST_NOPE") && "\(error)".contains("no-such-binary-banditd")
        }
    }

    @Test func freePortsAreLoopbackPorts() throws {
        let port = try FreePort.allocate()
        #expect(port > 0 && port < 65536)
    }

    @Test func temporaryDirectoriesAreRemoved() throws {
        let directory = try TemporaryDirectory(prefix: "banditd-t")
        #expect(FileManager.default.fileExists(atPath: directory.path))
        directory.remove()
        #expect(!FileManager.default.fileExists(atPath: directory.path))
    }

    @Test func childProcessesLogAndStop() throws {
        let directory = try TemporaryDirectory(prefix: "banditd-t")
        defer { directory.remove() }
        let sleeper = try ChildProcess(
            "/bin/sh", arguments: ["-c", "echo started; exec sleep 60"], logFile: directory.appending("sh.log"))
        try waitUntil(timeout: .seconds(10)) { sleeper.log().contains("started") }
        #expect(sleeper.isRunning)
        sleeper.stop(timeout: .seconds(5))
        #expect(!sleeper.isRunning)
    }
}
