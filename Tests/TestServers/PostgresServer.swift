import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A throwaway PostgreSQL cluster for integration tests.
///
/// `initdb` (superuser `postgres`, trust authentication, UTF8, `--no-sync`) in a temporary
/// directory, then `pg_ctl start` listening on `127.0.0.1` at a free port, with its unix socket in
/// the same temporary directory and `fsync=off`. When we run as root, `initdb` and `pg_ctl` run as
/// the `postgres` user (they refuse root) and the directories are handed to that user.
///
/// Binaries: `$BANDITD_TEST_INITDB`, `$BANDITD_TEST_PG_CTL`, `$BANDITD_TEST_PSQL`, else `$PATH`, else
/// `/usr/lib/postgresql/{17,16,15,14}/bin`. A missing binary is a loud error.
///
/// Tests get the suite's server from ``current`` (see ``PostgresServerTrait``) and a database of
/// their own from ``createDatabase(_:)``.
public final class PostgresServer: Sendable {
    /// How `pg_ctl` shuts the server down (`-m`).
    public enum ShutdownMode: String, Sendable {
        /// Disconnects clients, rolls back their transactions, checkpoints.
        case fast
        /// Aborts every process without a checkpoint; recovery runs on the next start.
        case immediate
    }

    /// The server of the enclosing `@Suite(.postgresServer)`.
    @TaskLocal public static var current: PostgresServer?

    /// ``current``, or an error saying the suite lacks the `.postgresServer` trait.
    public static func requireCurrent() throws -> PostgresServer {
        guard let server = current else {
            throw TestSupportError("no PostgresServer: add the .postgresServer trait to the suite")
        }
        return server
    }

    /// Always `127.0.0.1`.
    public let host = "127.0.0.1"
    /// The loopback TCP port.
    public let port: Int
    /// The superuser (trust authentication, no password).
    public let user = "postgres"
    /// Directory of the unix socket (`.s.PGSQL.{port}`); usable as `host=` in a conninfo.
    public let socketDirectory: String
    public let dataDirectory: String
    /// The server log (`pg_ctl -l`).
    public let logFile: String
    /// Output of `initdb`, `pg_ctl` and `psql`.
    public let toolLogFile: String

    /// The `-c` settings the server runs with.
    public let settings: [String: String]
    private let directory: TemporaryDirectory
    private let binaries: Binaries
    private let state: Mutex<State>

    private struct Binaries: Sendable {
        let initdb: String
        let pgCtl: String
        let psql: String
    }

    private struct State {
        var running = false
        var registration: ProcessRegistry.Token?
        var databaseCounter = 0
    }

    private static let serviceUser = "postgres"

    /// The server settings of test clusters: nothing is fsynced (tests need speed, not durability).
    public static let testSettings: [String: String] = [
        "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "50",
    ]

    /// PostgreSQL's own durability defaults (every commit fsynced), for benchmarks that must
    /// measure what a production server does.
    public static let durableSettings: [String: String] = [
        "fsync": "on", "synchronous_commit": "on", "full_page_writes": "on", "max_connections": "50",
    ]

    /// Initialises and starts a cluster. Blocking (a few seconds).
    /// - Parameter settings: server settings (`-c name=value`); ``testSettings`` by default.
    public static func start(settings: [String: String] = testSettings) throws -> PostgresServer {
        let fallbacks = ["17", "16", "15", "14"].map { "/usr/lib/postgresql/\($0)/bin" }
        let binaries = Binaries(
            initdb: try Executable.locate(
                "initdb", environmentOverride: "BANDITD_TEST_INITDB", fallbackDirectories: fallbacks),
            pgCtl: try Executable.locate(
                "pg_ctl", environmentOverride: "BANDITD_TEST_PG_CTL", fallbackDirectories: fallbacks),
            psql: try Executable.locate(
                "psql", environmentOverride: "BANDITD_TEST_PSQL", fallbackDirectories: fallbacks)
        )
        let owner = geteuid() == 0 ? serviceUser : nil
        let directory = try TemporaryDirectory(prefix: "banditd-pg", owner: owner)
        do {
            let dataDirectory = directory.appending("data")
            let socketDirectory = try directory.makeSubdirectory("sock", owner: owner)
            let logFile = try directory.makeFile("postgres.log", owner: owner)
            let toolLogFile = try directory.makeFile("tools.log", owner: owner)
            _ = try ChildProcess.run(
                binaries.initdb,
                arguments: [
                    "-D", dataDirectory, "-U", serviceUser, "--auth=trust", "-E", "UTF8", "--no-sync",
                    "--locale=C",
                ],
                environment: PostgresServer.toolEnvironment(),
                logFile: toolLogFile, currentDirectory: directory.path, runAs: owner)

            var lastError: Error?
            for _ in 0..<3 {
                let port = try FreePort.allocate()
                let server = PostgresServer(
                    directory: directory, binaries: binaries, port: port, socketDirectory: socketDirectory,
                    dataDirectory: dataDirectory, logFile: logFile, toolLogFile: toolLogFile, settings: settings)
                do {
                    try server.pgCtlStart()
                    return server
                } catch {
                    lastError = error  // most likely the port was taken in the meantime: retry
                }
            }
            throw lastError ?? TestSupportError("PostgreSQL did not start")
        } catch {
            directory.remove()
            throw error
        }
    }

    private init(
        directory: TemporaryDirectory, binaries: Binaries, port: Int, socketDirectory: String,
        dataDirectory: String, logFile: String, toolLogFile: String, settings: [String: String]
    ) {
        self.settings = settings
        self.directory = directory
        self.binaries = binaries
        self.port = port
        self.socketDirectory = socketDirectory
        self.dataDirectory = dataDirectory
        self.logFile = logFile
        self.toolLogFile = toolLogFile
        self.state = Mutex(State())
    }

    /// A key/value conninfo over TCP: `host=127.0.0.1 port=N user=postgres dbname=DB`.
    public func conninfo(database: String = "postgres") -> String {
        "host=\(host) port=\(port) user=\(user) dbname=\(database) connect_timeout=10"
    }

    /// A URI over TCP: `postgresql://postgres@127.0.0.1:N/DB`.
    public func url(database: String = "postgres") -> String {
        "postgresql://\(user)@\(host):\(port)/\(database)"
    }

    /// A key/value conninfo over the unix socket.
    public func socketConninfo(database: String = "postgres") -> String {
        "host=\(socketDirectory) port=\(port) user=\(user) dbname=\(database)"
    }

    /// Creates an empty database and returns its name: `name` or, by default, a fresh `test_N`.
    /// One per test keeps tests independent while they share the suite's server.
    @discardableResult
    public func createDatabase(_ name: String? = nil) throws -> String {
        let database =
            name
            ?? state.withLock { state in
                state.databaseCounter += 1
                return "test_\(state.databaseCounter)"
            }
        try PostgresServer.checkIdentifier(database)
        try psql("CREATE DATABASE \"\(database)\"")
        return database
    }

    /// Runs SQL through `psql` (unaligned, tuples only, `ON_ERROR_STOP`) and returns its output.
    /// For harness chores; tests exercise PostgresKit instead.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        try ChildProcess.run(
            binaries.psql,
            arguments: [
                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socketDirectory, "-p", String(port), "-U",
                user, "-d", database, "-c", sql,
            ],
            environment: PostgresServer.toolEnvironment(), logFile: toolLogFile, currentDirectory: directory.path,
            timeout: .seconds(60)
        ).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Terminates every backend connected to `database` (all client backends when `nil`), as
    /// `pg_terminate_backend` does for an operator. Returns how many were terminated.
    @discardableResult
    public func terminateBackends(database: String? = nil) throws -> Int {
        var filter = "backend_type = 'client backend' AND pid <> pg_backend_pid()"
        if let database {
            try PostgresServer.checkIdentifier(database)
            filter += " AND datname = '\(database)'"
        }
        let output = try psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE \(filter)")
        return Int(output) ?? 0
    }

    /// `pg_ctl restart -m MODE`: every connection is cut; the server comes back on the same port.
    public func restart(mode: ShutdownMode = .fast) throws {
        try pgCtl(["restart", "-w", "-t", "60", "-m", mode.rawValue, "-D", dataDirectory, "-l", logFile])
        let pid = try postmasterPID()
        state.withLock { state in
            if let token = state.registration { ProcessRegistry.update(token, pid: pid) }
        }
    }

    /// Stops the server for a while (`pg_ctl stop -m MODE`) and keeps its data; ``startServer()``
    /// brings it back on the same port. Every client sees "connection refused" meanwhile.
    public func stopServer(mode: ShutdownMode = .fast) throws {
        try pgCtl(["stop", "-w", "-t", "60", "-m", mode.rawValue, "-D", dataDirectory])
        state.withLock { state in
            state.running = false
            if let token = state.registration { ProcessRegistry.unregister(token) }
            state.registration = nil
        }
    }

    /// Starts the server again after ``stopServer(mode:)``, on the same port with the same data.
    public func startServer() throws {
        guard !state.withLock({ $0.running }) else { return }
        try pgCtlStart()
    }

    /// Stops the server (`pg_ctl stop`, then SIGKILL if it would not stop) and removes its files.
    /// Idempotent. The log is kept only if `keepFiles` is true.
    public func stop(mode: ShutdownMode = .fast, keepFiles: Bool = false) {
        let wasRunning = state.withLock { state in
            defer { state.running = false }
            return state.running
        }
        if wasRunning {
            do {
                try pgCtl(["stop", "-w", "-t", "30", "-m", mode.rawValue, "-D", dataDirectory])
            } catch {
                if let pid = try? postmasterPID() { _ = kill(pid, SIGKILL) }
            }
        }
        state.withLock { state in
            if let token = state.registration { ProcessRegistry.unregister(token) }
            state.registration = nil
        }
        if !keepFiles { directory.remove() }
    }

    /// The last `maxBytes` of the server log, for failure messages.
    public func logTail(maxBytes: Int = 4000) -> String {
        guard let data = FileManager.default.contents(atPath: logFile) else { return "" }
        return String(decoding: data.suffix(maxBytes), as: UTF8.self)
    }

    private func pgCtlStart() throws {
        let options =
            (["-c listen_addresses=\(host)", "-p \(port)", "-k \(socketDirectory)"]
            + settings.sorted { $0.key < $1.key }.map { "-c \($0.key)=\($0.value)" }).joined(separator: " ")
        do {
            try pgCtl(["start", "-w", "-t", "60", "-D", dataDirectory, "-l", logFile, "-o", options])
        } catch {
            // pg_ctl gave up, but a postmaster may still be coming up: it must not outlive us.
            if let pid = try? postmasterPID() { _ = kill(pid, SIGQUIT) }
            throw TestSupportError("\(error)\nserver log:\n\(logTail())")
        }
        let pid = try postmasterPID()
        state.withLock { state in
            state.running = true
            state.registration = ProcessRegistry.register(pid: pid, signal: SIGQUIT)
        }
    }

    private func pgCtl(_ arguments: [String]) throws {
        try ChildProcess.run(
            binaries.pgCtl, arguments: arguments, environment: PostgresServer.toolEnvironment(),
            logFile: toolLogFile, currentDirectory: directory.path,
            runAs: geteuid() == 0 ? PostgresServer.serviceUser : nil, timeout: .seconds(90))
    }

    /// The postmaster's pid (benchmarks sum the CPU time of it and its children).
    public func serverPID() throws -> Int32 { try postmasterPID() }

    private func postmasterPID() throws -> Int32 {
        guard let text = try? String(contentsOfFile: "\(dataDirectory)/postmaster.pid", encoding: .utf8),
            let line = text.split(separator: "\n").first, let pid = Int32(line.trimmingCharacters(in: .whitespaces))
        else {
            throw TestSupportError("cannot read \(dataDirectory)/postmaster.pid")
        }
        return pid
    }

    private static func toolEnvironment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("PG") {
            environment[key] = nil  // a PGHOST/PGPASSWORD/... of the caller must not leak into the harness
        }
        environment["LC_ALL"] = "C"
        return environment
    }

    private static func checkIdentifier(_ name: String) throws {
        let allowed = name.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_"
        }
        guard allowed, !name.isEmpty, name.count < 60 else {
            throw TestSupportError("database name '\(name)' must be 1-59 characters of [a-z0-9_]")
        }
    }
}
