import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real `banditd run` and the signals and exit paths of README "Signals and exit codes":
/// SIGHUP, SIGUSR1 and SIGUSR2 are logged and ignored; SIGABRT and SIGQUIT end it at once with
/// nothing but JSON on stderr; silent health clients cannot starve `banditd health`.
@Suite(.postgresServer, .serialized)
struct SignalsAndExitCodesProcessTests {
    /// The daemon's output (stdout and stderr, as the harness merges them), one parsed object per
    /// line; a line that is not a JSON object is recorded as an issue.
    static func logObjects(_ daemon: ChildProcess) -> [[String: Any]] {
        daemon.log().split(separator: "\n").compactMap { line in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON log line: \(line)")
            return object
        }
    }

    static func logged(_ daemon: ChildProcess, message: String, signal: String? = nil) -> Bool {
        logObjects(daemon).contains { object in
            object["msg"] as? String == message && (signal == nil || object["signal"] as? String == signal)
        }
    }

    /// The environment without SWIFT_BACKTRACE, as when the daemon is started by hand.
    static func plainEnvironment(_ stack: OperationsStack) -> [String: String] {
        var environment = stack.environment
        environment["SWIFT_BACKTRACE"] = nil
        return environment
    }

    @Test func sighupSigusr1AndSigusr2AreLoggedAndIgnoredAndTheDaemonStaysReady() async throws {
        try await OperationsStack.with { stack in
            let daemon = try stack.startDaemon(environment: Self.plainEnvironment(stack), log: "signals.log")
            for (signal, name) in [(SIGHUP, "SIGHUP"), (SIGUSR1, "SIGUSR1"), (SIGUSR2, "SIGUSR2"), (SIGHUP, "SIGHUP")] {
                daemon.signal(signal)
                try waitUntil(timeout: .seconds(10)) {
                    guard daemon.isRunning else { throw TestSupportError("banditd died of \(name): \(daemon.log())") }
                    return Self.logged(daemon, message: "signal ignored", signal: name)
                }
                let health = try stack.command(["health", "--socket", stack.healthSocket])  // throws unless exit 0
                #expect(health.contains(#""status":"ready""#))
            }
            #expect(Self.logObjects(daemon).filter { $0["msg"] as? String == "signal ignored" }.count == 4)
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
            #expect(!FileManager.default.fileExists(atPath: stack.healthSocket))
        }
    }

    @Test func aSignalWhileStillConnectingIsLoggedNotFatal() async throws {
        try await OperationsStack.with { stack in
            var environment = Self.plainEnvironment(stack)
            environment["DATABASE_URL"] = "postgresql://postgres@127.0.0.1:\(try FreePort.allocate())/nowhere"
            let daemon = try ChildProcess(
                OperationsStack.binary, arguments: ["run"], environment: environment,
                logFile: stack.directory.appending("connecting.log"))
            defer { daemon.stop() }
            try waitUntil(timeout: .seconds(20)) { Self.logged(daemon, message: "PostgreSQL unreachable, retrying") }
            daemon.signal(SIGHUP)
            try waitUntil(timeout: .seconds(10)) { Self.logged(daemon, message: "signal ignored", signal: "SIGHUP") }
            Thread.sleep(forTimeInterval: 1)
            #expect(daemon.isRunning)
            // The retry delay is a number of milliseconds, not Swift's "0.25 seconds".
            let retry = try #require(
                Self.logObjects(daemon).first { $0["msg"] as? String == "PostgreSQL unreachable, retrying" })
            #expect(retry["retry_in_ms"] is Int, "\(retry)")
            #expect(retry["retry_in"] == nil)
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(20)) == 0)
        }
    }

    @Test(arguments: [(SIGABRT, "SIGABRT"), (SIGQUIT, "SIGQUIT")])
    func sigabrtAndSigquitEndTheDaemonAtOnceWithOnlyJSONOnStderr(signal: Int32, name: String) async throws {
        try await OperationsStack.with { stack in
            let daemon = try stack.startDaemon(environment: Self.plainEnvironment(stack), log: "\(name).log")
            let sent = ContinuousClock.now
            daemon.signal(signal)
            let status = daemon.waitForExit(timeout: .seconds(10))
            #expect(status == 128 + signal, "\(daemon.log())")
            #expect(ContinuousClock.now - sent < .seconds(5))
            let lines = Self.logObjects(daemon)  // records an issue for any line that is not JSON
            let last = try #require(lines.last)
            #expect(last["msg"] as? String == "terminating on \(name)")
            #expect(last["level"] as? String == "critical")
            #expect(last["signal"] as? String == name)
            #expect(last["crash_report"] == nil)
        }
    }

    /// The shipped unit's `SWIFT_BACKTRACE`, with its `output-to` pointed at `directory`.
    static func unitSwiftBacktrace(outputTo directory: String) throws -> String {
        let unit = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("systemd/banditd.service")
        let text = try String(contentsOf: unit, encoding: .utf8)
        let prefix = "Environment=SWIFT_BACKTRACE="
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(prefix) })
        let setting = line.dropFirst(prefix.count).split(separator: ",").map { item in
            item.hasPrefix("output-to=") ? "output-to=\(directory)" : String(item)
        }
        #expect(setting.contains("output-to=\(directory)"), "the unit sends crash reports to a file")
        return setting.joined(separator: ",")
    }

    @Test func withTheUnitsSwiftBacktraceSettingAWatchdogAbortWritesACrashReportFileAndTheLogStaysJSON()
        async throws
    {
        try await OperationsStack.with { stack in
            let reports = stack.directory.appending("crash-reports")
            try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
            var environment = Self.plainEnvironment(stack)
            environment["SWIFT_BACKTRACE"] = try Self.unitSwiftBacktrace(outputTo: reports)
            let daemon = try stack.startDaemon(environment: environment, log: "watchdog-abort.log")
            let sent = ContinuousClock.now
            daemon.signal(SIGABRT)
            #expect(daemon.waitForExit(timeout: .seconds(20)) == 128 + SIGABRT, "\(daemon.log())")
            print("SIGABRT with a crash report: dead after \(ContinuousClock.now - sent)")
            let last = try #require(Self.logObjects(daemon).last)
            #expect(last["msg"] as? String == "terminating on SIGABRT")
            #expect(last["crash_report"] as? String == reports)
            let files = try FileManager.default.contentsOfDirectory(atPath: reports)
            #expect(files.count == 1, "\(files)")
            let report = try #require(files.first.flatMap { FileManager.default.contents(atPath: "\(reports)/\($0)") })
            let object = try #require(try JSONSerialization.jsonObject(with: report) as? [String: Any])
            #expect(object["kind"] as? String == "crashReport")
            #expect((object["threads"] as? [Any])?.count ?? 0 > 1)
        }
    }

    @Test func healthAnswersWhileFiftySilentClientsAreConnected() async throws {
        try await OperationsStack.with { stack in
            let daemon = try stack.startDaemon(log: "silent-clients.log")
            let silent = try (0..<50).map { _ in try SilentClient(path: stack.healthSocket) }
            defer { silent.forEach { $0.close() } }
            // Served one at a time (1 s each), the fiftieth would answer after 50 s; `banditd health`
            // gives up after 5 s.
            for _ in 0..<3 {
                let health = try stack.command(["health", "--socket", stack.healthSocket])  // throws unless exit 0
                #expect(health.contains(#""ok":true"#))
            }
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    // MARK: - Exit status 78: configuration errors a restart cannot fix

    /// Runs `banditd run` until it exits; nil status if it still runs after `limit`.
    static func runUntilExit(_ stack: OperationsStack, environment: [String: String], log: String, limit: Duration)
        throws -> (status: Int32?, output: String, elapsed: Duration)
    {
        let started = ContinuousClock.now
        let daemon = try ChildProcess(
            OperationsStack.binary, arguments: ["run"], environment: environment,
            logFile: stack.directory.appending(log))
        let status = daemon.waitForExit(timeout: limit)
        let elapsed = ContinuousClock.now - started
        daemon.stop()
        return (status, daemon.log(), elapsed)
    }

    @Test func aMalformedOrRefusedConfigurationExits78AtOnceWithTheReason() async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await OperationsStack.with { stack in
            let database = String(stack.databaseURL.split(separator: "/").last!)
            let secured = try NATSServer.start(
                extraConfiguration: "authorization { user: banditd, password: \"R1ght-Nats-Pass\" }")
            defer { secured.stop() }
            let regularFile = stack.directory.appending("not-a-socket")
            try "x".write(toFile: regularFile, atomically: true, encoding: .utf8)
            let cases: [(name: String, environment: [String: String], reason: String)] = [
                (
                    "bad port", ["DATABASE_URL": "postgresql://postgres:Pg-Secret-1@127.0.0.1:notaport/\(database)"],
                    "invalid"
                ),
                (
                    "bad sslmode",
                    [
                        "DATABASE_URL":
                            "host=127.0.0.1 port=\(postgres.port) dbname=\(database) user=postgres sslmode=bogus"
                    ],
                    "sslmode"
                ),
                (
                    "unknown database", ["DATABASE_URL": "postgresql://postgres@127.0.0.1:\(postgres.port)/no_such_db"],
                    "does not exist"
                ),
                (
                    "unknown role",
                    ["DATABASE_URL": "postgresql://no_such_role@127.0.0.1:\(postgres.port)/\(database)"],
                    "does not exist"
                ),
                ("garbage NATS_URL", ["NATS_URL": "garbage"], "NATS"),
                ("NATS port out of range", ["NATS_URL": "nats://127.0.0.1:99999"], "port"),
                ("NATS scheme", ["NATS_URL": "http://127.0.0.1:4222"], "scheme"),
                (
                    "NATS wrong password",
                    ["NATS_URL": secured.url, "NATS_USER": "banditd", "NATS_PASSWORD": "Wr0ng-Nats-Pass"],
                    "Authorization Violation"
                ),
                (
                    "health socket in a missing folder",
                    ["BANDITD_HEALTH_SOCKET": stack.directory.appending("missing/health.sock")], "health.sock"
                ),
                ("health socket path is a regular file", ["BANDITD_HEALTH_SOCKET": regularFile], "not a socket"),
            ]
            for (index, testCase) in cases.enumerated() {
                var environment = Self.plainEnvironment(stack)
                environment.merge(testCase.environment) { _, new in new }
                let run = try Self.runUntilExit(
                    stack, environment: environment, log: "config-\(index).log", limit: .seconds(30))
                #expect(run.status == 78, "\(testCase.name): status \(String(describing: run.status)): \(run.output)")
                #expect(run.elapsed < .seconds(15), "\(testCase.name): took \(run.elapsed)")
                #expect(!run.output.contains("retrying"), "\(testCase.name): \(run.output)")
                #expect(run.output.contains(testCase.reason), "\(testCase.name): \(run.output)")
                for secret in ["Pg-Secret-1", "Wr0ng-Nats-Pass", "R1ght-Nats-Pass"] {
                    #expect(!run.output.contains(secret), "\(testCase.name) shows a password")
                }
                let last = Self.lastLogObject(run.output)
                #expect(last?["exit_status"] as? Int == 78, "\(testCase.name): \(run.output)")
            }
        }
    }

    static func lastLogObject(_ output: String) -> [String: Any]? {
        output.split(separator: "\n").last.flatMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test func anUnreachableServerIsWaitedForNotAConfigurationError() async throws {
        try await OperationsStack.with { stack in
            for (name, override) in [
                ("PostgreSQL", ["DATABASE_URL": "postgresql://postgres@127.0.0.1:\(try FreePort.allocate())/x"]),
                ("NATS", ["NATS_URL": "nats://127.0.0.1:\(try FreePort.allocate())"]),
            ] {
                var environment = Self.plainEnvironment(stack)
                environment.merge(override) { _, new in new }
                let daemon = try ChildProcess(
                    OperationsStack.binary, arguments: ["run"], environment: environment,
                    logFile: stack.directory.appending("unreachable-\(name).log"))
                defer { daemon.stop() }
                try waitUntil(timeout: .seconds(20)) {
                    guard daemon.isRunning else { throw TestSupportError("banditd exited: \(daemon.log())") }
                    return Self.logObjects(daemon).filter { $0["msg"] as? String == "\(name) unreachable, retrying" }
                        .count >= 3
                }
                #expect(daemon.isRunning)
                daemon.signal(SIGTERM)
                #expect(daemon.waitForExit(timeout: .seconds(20)) == 0, "\(name): \(daemon.log())")
            }
        }
    }
}

/// A unix stream connection to the health socket that never sends anything.
final class SilentClient: Sendable {
    let descriptor: Int32

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard descriptor >= 0, connected == 0 else { throw TestSupportError("connect \(path): errno \(errno)") }
    }

    func close() { _ = Glibc.close(descriptor) }
}
