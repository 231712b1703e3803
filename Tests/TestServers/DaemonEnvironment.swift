import Foundation

/// The environment a `banditd` child process runs with in the process tests, `make bench` and
/// `make chaos`: ours without `NATS_*`, `BANDITD_*` and `NOTIFY_SOCKET` (so a developer's own
/// settings cannot leak into a test), plus the servers and whatever the caller sets.
public enum DaemonEnvironment {
    public static func make(
        natsURLs: [String], databaseURL: String, dropping prefixes: [String] = [], _ settings: [String: String] = [:]
    ) -> [String: String] {
        let dropped = ["NATS_", "BANDITD_"] + prefixes
        var environment = ProcessInfo.processInfo.environment.filter { variable in
            variable.key != "NOTIFY_SOCKET" && !dropped.contains { variable.key.hasPrefix($0) }
        }
        environment["NATS_URL"] = natsURLs.joined(separator: ",")
        environment["DATABASE_URL"] = databaseURL
        environment.merge(settings) { $1 }
        return environment
    }

    /// `banditd migrate` and `banditd streams ensure`, output appended to `logFile`.
    public static func prepare(binary: String, environment: [String: String], logFile: String) throws {
        try ChildProcess.run(binary, arguments: ["migrate"], environment: environment, logFile: logFile)
        try ChildProcess.run(binary, arguments: ["streams", "ensure"], environment: environment, logFile: logFile)
    }
}

/// A single nats-server or the 3-node cluster, for the benchmark and the chaos runs.
public enum NATSDeployment: Sendable {
    case single(NATSServer)
    case cluster(NATSCluster)

    public static func start(cluster: Bool) throws -> NATSDeployment {
        cluster ? .cluster(try NATSCluster()) : .single(try NATSServer.start())
    }

    public var urls: [String] {
        switch self {
        case .single(let server): [server.url]
        case .cluster: NATSCluster.urls
        }
    }

    public var server: NATSServer? {
        if case .single(let server) = self { server } else { nil }
    }

    public var cluster: NATSCluster? {
        if case .cluster(let cluster) = self { cluster } else { nil }
    }

    public func stop() {
        switch self {
        case .single(let server): server.stop()
        case .cluster(let cluster): cluster.stop()
        }
    }
}

extension UUID {
    /// A version-4 UUID from 16 chosen bytes (version and variant bits set), for deterministic ids.
    public static func version4(_ bytes: [UInt8]) -> UUID {
        precondition(bytes.count == 16, "a UUID has 16 bytes")
        var bytes = bytes
        bytes[6] = 0x40 | (bytes[6] & 0x0f)
        bytes[8] = 0x80 | (bytes[8] & 0x3f)
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}
