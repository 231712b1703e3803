import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The 3-node loopback cluster of `deploy/nats-cluster/` (client ports 4231–4233), started and
/// stopped by `deploy/nats-cluster.sh` with its store in a temp folder. The binary is
/// `$BANDITD_TEST_NATS_SERVER` if set, as for ``NATSServer``. Used by tests, `make bench` and
/// `make chaos`.
public final class NATSCluster: Sendable {
    public static let urls = ["nats://127.0.0.1:4231", "nats://127.0.0.1:4232", "nats://127.0.0.1:4233"]
    /// deploy/nats-cluster.sh of this checkout.
    public static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/nats-cluster.sh").path

    public let directory: TemporaryDirectory
    /// The environment the script runs with (no NATS_/BANDITD_ variables of the caller).
    public let environment: [String: String]
    public let log: String
    /// What `start` printed (e.g. "JetStream meta leader: n1").
    public let startOutput: String

    public init() throws {
        directory = try TemporaryDirectory(prefix: "banditd-cluster")
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("NATS_") && !$0.key.hasPrefix("BANDITD_")
        }
        environment["NATS_CLUSTER_DATA"] = directory.appending("cluster")
        if let server = ProcessInfo.processInfo.environment["BANDITD_TEST_NATS_SERVER"] {
            environment["NATS_SERVER"] = server
        }
        self.environment = environment
        log = directory.appending("script.log")
        do {
            startOutput = try ChildProcess.run(
                "/bin/bash", arguments: [Self.script, "start"], environment: environment, logFile: log,
                timeout: .seconds(90))
        } catch {
            // Nodes that did start (another one could not bind its ports) must not outlive us.
            _ = try? ChildProcess.run(
                "/bin/bash", arguments: [Self.script, "stop"], environment: environment, logFile: log,
                timeout: .seconds(90))
            directory.remove()
            throw error
        }
    }

    /// Runs `deploy/nats-cluster.sh COMMAND` (start, stop, status) and returns its output.
    @discardableResult
    public func script(_ command: String) throws -> String {
        try ChildProcess.run(
            "/bin/bash", arguments: [Self.script, command], environment: environment, logFile: log,
            timeout: .seconds(90))
    }

    /// SIGTERMs node `name` (n1…n3) by its pid file and waits for it to exit.
    public func stopNode(_ name: String) throws {
        let pidFile = directory.appending("cluster/\(name).pid")
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw TestSupportError("no pid file for cluster node \(name)") }
        kill(pid, SIGTERM)
        try waitUntil(timeout: .seconds(20), poll: .milliseconds(50)) { kill(pid, 0) != 0 }
    }

    /// Stops every node and removes the folder. Idempotent.
    public func stop() {
        _ = try? script("stop")
        directory.remove()
    }
}
