import CNATS

/// What a failed first connect means to a process that is starting: wait for the server, or stop.
public enum NATSConnectFailure: Sendable, Equatable {
    /// No server answered (refused, unreachable, timed out, connection lost while connecting):
    /// retry with backoff.
    case unreachable
    /// Retrying cannot help: a URL cnats cannot use, credentials refused, a TLS or creds-file
    /// problem, a server that speaks another protocol.
    case misconfigured

    /// By the failure alone (pure). cnats says "No server available" both for a server that is down
    /// and for a host that does not exist: that is `unreachable` here; ``classify(_:servers:)``
    /// looks the hosts up as well.
    public init(_ error: NATSError) {
        // `NATSConnection.init` names its connect "connect to …"; every earlier step only applies
        // options (servers, credentials, TLS files), and a failure there is the configuration's.
        guard error.operation.hasPrefix("connect to "), case .library(let status) = error.origin else {
            self = .misconfigured
            return
        }
        let unreachable = [
            NATS_NO_SERVER, NATS_TIMEOUT, NATS_IO_ERROR, NATS_STALE_CONNECTION, NATS_CONNECTION_CLOSED,
            NATS_CONNECTION_DISCONNECTED, NATS_NO_MEMORY,
        ]
        self = unreachable.contains { $0.rawValue == status } ? .unreachable : .misconfigured
    }

    /// The failure of `NATSConnection(options:)` for `servers`: unusable URLs and hosts the resolver
    /// says do not exist are `misconfigured` even when cnats only said "No server available" (one
    /// existing host is enough to wait for).
    public static func classify(_ error: NATSError, servers: [String]) -> NATSConnectFailure {
        let failure = NATSConnectFailure(error)
        guard failure == .unreachable else { return failure }
        var someHostMayExist = false
        for server in servers {
            guard let url = try? NATSServerURL(server) else { return .misconfigured }
            if url.resolve() != .unknownHost { someHostMayExist = true }
        }
        return someHostMayExist ? .unreachable : .misconfigured
    }
}
