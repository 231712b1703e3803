import Foundation
import Synchronization
import TestSupport
import Testing

@testable import BanditOperations

#if canImport(Glibc)
    import Glibc
#endif

/// The health socket against real unix sockets in a temporary directory.
@Suite struct HealthSocketServerTests {
    let directory: TemporaryDirectory
    let path: String
    let state: HealthState

    init() throws {
        directory = try TemporaryDirectory(prefix: "ops")
        path = directory.appending("health.sock")
        state = HealthState(version: "1.0.0", uptime: { .seconds(1) })
    }

    func withServer(
        clientTimeout: Duration = .milliseconds(300),
        maximumClients: Int = 128,
        _ body: (HealthSocketServer) throws -> Void
    ) throws {
        let server = HealthSocketServer(
            path: path, health: state, clientTimeout: clientTimeout, maximumClients: maximumClients)
        try server.start()
        defer {
            server.stop()
            directory.remove()
        }
        try body(server)
    }

    func ask(_ request: String, closeWrite: Bool = false) throws -> String {
        let client = try RawClient(path: path)
        if !request.isEmpty { try client.send(request) }
        if closeWrite { client.shutdownWrite() }
        return try client.readToEnd()
    }

    @Test func healthLineGetsTheHealthJSONAndNewline() throws {
        try withServer { _ throws in
            #expect(try ask("health\n") == state.healthJSON() + "\n")
        }
    }

    @Test func metricsLineGetsPrometheusText() throws {
        state.metrics.recordProcessed(.signals, count: 9)
        try withServer { _ throws in
            let answer = try ask("metrics\n")
            #expect(answer == state.prometheusText())
            #expect(answer.contains("banditd_messages_processed_total{consumer=\"signals\"} 9\n"))
        }
    }

    @Test func emptyLineMeansHealth() throws {
        try withServer { _ throws in
            #expect(try ask("\n") == state.healthJSON() + "\n")
            #expect(try ask("\r\n") == state.healthJSON() + "\n")
        }
    }

    @Test func closingTheWriteSideWithoutALineMeansHealth() throws {
        try withServer { _ throws in
            #expect(try ask("", closeWrite: true) == state.healthJSON() + "\n")
            #expect(try ask("metrics", closeWrite: true) == state.prometheusText())
        }
    }

    @Test func unknownCommandGetsAOneLineJSONError() throws {
        try withServer { _ throws in
            let answer = try ask("status please\n")
            #expect(answer == #"{"ok":false,"error":"unknown command: send health or metrics"}"# + "\n")
            #expect(!HealthClient.isOK(healthJSON: answer))
            #expect(try ask(String(repeating: "x", count: 500)).contains(#""ok":false"#))
        }
    }

    @Test func aClientThatSendsNothingDoesNotWedgeTheServer() throws {
        try withServer(clientTimeout: .milliseconds(500)) { _ throws in
            let silent = try RawClient(path: path)
            let started = ContinuousClock.now
            #expect(try ask("health\n") == state.healthJSON() + "\n")
            #expect(ContinuousClock.now - started < .seconds(3))
            // The silent client is answered as if it had asked for health once its time is up.
            #expect(try silent.readToEnd() == state.healthJSON() + "\n")
        }
    }

    @Test func aClientIsAnsweredAtOnceWhileFiftySilentClientsAreConnected() throws {
        // Served one at a time, the fiftieth silent client would be done after 50 × 3 s.
        try withServer(clientTimeout: .seconds(3)) { _ throws in
            let silent = try (0..<50).map { _ in try RawClient(path: path) }
            let started = ContinuousClock.now
            for _ in 0..<5 { #expect(try ask("health\n") == state.healthJSON() + "\n") }
            #expect(try ask("metrics\n") == state.prometheusText())
            #expect(ContinuousClock.now - started < .seconds(2), "answered only after a silent client's time")
            // Each silent client still gets health once its own time is up, all of them together.
            for client in silent { #expect(try client.readToEnd(timeout: .seconds(10)) == state.healthJSON() + "\n") }
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test func pastTheConnectionLimitTheOldestSilentClientIsAnsweredAndClosed() throws {
        try withServer(clientTimeout: .seconds(30), maximumClients: 8) { _ throws in
            let silent = try (0..<20).map { _ in try RawClient(path: path) }
            #expect(try ask("health\n") == state.healthJSON() + "\n")
            // 21 connections for 8 places: the 13 oldest were answered (health) and closed at once,
            // long before their 30 s were up; the 7 newest and the asking client held the places.
            for client in silent.prefix(13) {
                #expect(try client.readToEnd(timeout: .seconds(5)) == state.healthJSON() + "\n")
            }
            for client in silent.suffix(7) { #expect(!TestSockets.waitReadable(client.descriptor, timeout: .zero)) }
        }
    }

    @Test func aPersistentFloodOfSilentClientsNeverKeepsAClientWaiting() throws {
        try withServer(clientTimeout: .seconds(1), maximumClients: 32) { _ throws in
            let flooding = Mutex(true)
            let flooded = Mutex(0)
            let path = self.path
            let flood = Thread {
                var open: [RawClient] = []
                while flooding.withLock({ $0 }) {
                    if let client = try? RawClient(path: path) {
                        open.append(client)
                        flooded.withLock { $0 += 1 }
                    }
                    if open.count > 200 { open.removeFirst(100) }
                    usleep(500)
                }
            }
            flood.start()
            defer { flooding.withLock { $0 = false } }
            let started = ContinuousClock.now
            var slowest = Duration.zero
            while ContinuousClock.now - started < .seconds(3) {
                let asked = ContinuousClock.now
                #expect(try ask("health\n") == state.healthJSON() + "\n")
                slowest = max(slowest, ContinuousClock.now - asked)
                usleep(50_000)
            }
            #expect(flooded.withLock { $0 } > 100)
            #expect(slowest < .seconds(1), "a client waited \(slowest) during the flood")
        }
    }

    @Test func aClientThatVanishesEarlyDoesNotKillTheServer() throws {
        state.metrics.recordProcessed(.feedback)
        try withServer { _ throws in
            for _ in 0..<20 {
                // Ask for the long answer and go away before it is written: the server's write fails
                // with EPIPE, which must not raise SIGPIPE (that would end this test process).
                let client = try RawClient(path: path)
                try client.send("metrics\n")
            }
            #expect(try ask("health\n") == state.healthJSON() + "\n")
        }
    }

    @Test func socketFileHasMode0660() throws {
        try withServer { _ throws in
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o7777 == 0o660)
        }
    }

    @Test func aStaleSocketFromACrashedRunIsReplaced() throws {
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(TestSockets.withAddress(path, abstract: false) { bind(stale, $0, $1) } == 0)
        #expect(listen(stale, 1) == 0)
        close(stale)  // the listener is gone; the file stays, as after a crash
        #expect(access(path, F_OK) == 0)
        try withServer { _ throws in
            #expect(try ask("health\n") == state.healthJSON() + "\n")
        }
    }

    @Test func aSecondServerRefusesToTakeOverALiveSocket() throws {
        try withServer { _ throws in
            let second = HealthSocketServer(path: path, health: HealthState(version: "other"))
            let error = try #require(throws: OperationsError.self) { try second.start() }
            #expect(error.code == .socketInUse)
            #expect(error.description.contains("another banditd is serving \(path)"))
            // The first server still owns the file and answers.
            #expect(try ask("health\n") == state.healthJSON() + "\n")
        }
    }

    @Test func aListenerThatNeverAcceptsCountsAsLive() throws {
        defer { directory.remove() }
        let wedged = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(wedged) }
        #expect(TestSockets.withAddress(path, abstract: false) { bind(wedged, $0, $1) } == 0)
        #expect(listen(wedged, 0) == 0)
        let server = HealthSocketServer(path: path, health: state)
        let started = ContinuousClock.now
        let error = try #require(throws: OperationsError.self) { try server.start() }
        #expect(error.code == .socketInUse)
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(access(path, F_OK) == 0)
    }

    @Test func aPathThatIsNotASocketIsLeftAloneAndRefused() throws {
        defer { directory.remove() }
        try directory.makeFile("health.sock")
        let server = HealthSocketServer(path: path, health: state)
        let error = try #require(throws: OperationsError.self) { try server.start() }
        #expect(error.code == .notASocket)
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG)
    }

    @Test func stopRemovesTheSocketFileAndCanBeCalledTwice() throws {
        defer { directory.remove() }
        let server = HealthSocketServer(path: path, health: state)
        try server.start()
        #expect(access(path, F_OK) == 0)
        server.stop()
        server.stop()
        #expect(access(path, F_OK) != 0)
        #expect(throws: (any Error).self) { try RawClient(path: path) }
    }

    @Test func statusSeenThroughTheClientFollowsTheDaemon() throws {
        try withServer { _ throws in
            func ok() throws -> (Bool, String) {
                let answer = try HealthClient.query(socketPath: path)
                let object = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any]
                return (HealthClient.isOK(healthJSON: answer), object?["status"] as? String ?? "?")
            }
            #expect(try ok() == (false, "starting"))
            state.setNATSConnected(true)
            state.setPostgresConnected(true)
            state.markReady()
            #expect(try ok() == (true, "ready"))
            state.setNATSConnected(false)
            #expect(try ok() == (false, "degraded"))
            state.setNATSConnected(true)
            #expect(try ok() == (true, "ready"))
            state.markStopping()
            #expect(try ok() == (false, "stopping"))
            #expect(try HealthClient.query(socketPath: path, command: "metrics") == state.prometheusText())
        }
    }

    @Test func clientNamesTheSocketWhenNobodyIsThere() throws {
        defer { directory.remove() }
        let error = try #require(throws: OperationsError.self) { try HealthClient.query(socketPath: path) }
        #expect(error.description == "connect \(path): No such file or directory")
    }

    @Test func isOKReadsOnlyABooleanOkField() {
        directory.remove()
        #expect(HealthClient.isOK(healthJSON: #"{"ok":true,"status":"ready"}"# + "\n"))
        #expect(!HealthClient.isOK(healthJSON: #"{"ok":false,"status":"degraded"}"#))
        #expect(!HealthClient.isOK(healthJSON: #"{"ok":"true"}"#))
        #expect(!HealthClient.isOK(healthJSON: "not json"))
        #expect(!HealthClient.isOK(healthJSON: ""))
    }
}
