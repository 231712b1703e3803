import CLibPQ

/// What a failed connect means to a process that is starting: wait for the server, or stop.
///
/// Only "the server cannot be reached or is not accepting connections yet" is worth waiting for. A
/// conninfo libpq cannot use (bad port, bad sslmode, unknown option), an unknown host name, a refused
/// password, an unknown database or role, a missing `pg_hba.conf` entry or a TLS certificate problem
/// stays the same however long one waits.
public enum PostgresConnectFailure: Sendable, Equatable {
    /// Connection refused, no route, timed out, name lookup failing for now, the server starting up,
    /// shutting down, in recovery or out of connection slots: retry with backoff.
    case unreachable
    /// Retrying cannot help: the configuration (or the server's idea of it) must change.
    case misconfigured

    /// Reads libpq's text for a failed connect; nil when the text matches no known case.
    ///
    /// libpq's own messages come in the C locale's English (the daemon never calls `setlocale`); the
    /// server's come in its `lc_messages`, so a server speaking another language yields nil here
    /// and ``classify(_:conninfo:)`` asks `PQping` instead. A text naming both kinds (several hosts)
    /// counts as misconfigured: the one reachable server refused us.
    public init?(connectMessage text: String) {
        if Self.misconfiguredTexts.contains(where: text.contains) {
            self = .misconfigured
        } else if Self.unreachableTexts.contains(where: text.contains) {
            self = .unreachable
        } else {
            return nil
        }
    }

    /// The failure of `PostgresConnection(conninfo:)`: by its text, else by `PQping(conninfo)`
    /// (blocking: no answer → unreachable, "rejecting connections" → unreachable, "no attempt" (the
    /// conninfo is unusable) → misconfigured, "accepting connections" → misconfigured, since the server
    /// is up and refused us).
    public static func classify(_ error: PostgresError, conninfo: String) -> PostgresConnectFailure {
        if error.sqlState == .invalidPassword || error.sqlState == .invalidAuthorization { return .misconfigured }
        if let known = PostgresConnectFailure(connectMessage: error.message) { return known }
        switch PQping(conninfo) {
        case PQPING_NO_RESPONSE, PQPING_REJECT: return .unreachable
        default: return .misconfigured
        }
    }

    static let misconfiguredTexts = [
        // libpq, about the conninfo itself
        "invalid port number", "invalid sslmode value", "invalid gssencmode value", "invalid connection option",
        "invalid URI", "invalid integer value", "invalid value for parameter", "missing \"=\" after",
        "unterminated quoted string in connection info string", "invalid percent-encoded token",
        "invalid target_session_attrs value", "invalid channel_binding value", "invalid ssl_min_protocol_version",
        "invalid ssl_max_protocol_version", "invalid require_auth", "could not match",
        "Name or service not known", "No address associated with hostname", "nodename nor servname",
        // authentication and authorization
        "password authentication failed", "no pg_hba.conf entry", "pg_hba.conf rejects connection",
        "fe_sendauth: no password supplied", "SCRAM", "authentication failed", "does not exist",
        "permission denied for database", "is not permitted to log in",
        // TLS
        "certificate verify failed", "server does not support SSL, but SSL was required",
        "root certificate file", "could not read root certificate", "certificate file", "private key file",
        "sslmode value \"", "SSL error: ", "tlsv1 alert",
    ]

    static let unreachableTexts = [
        "Connection refused", "No route to host", "Network is unreachable", "Host is down", "timeout expired",
        "Connection timed out", "Connection reset by peer", "server closed the connection unexpectedly",
        "could not receive data from server", "could not send data to server", "No such file or directory",
        "Resource temporarily unavailable", "Temporary failure in name resolution", "SSL SYSCALL error",
        "the database system is starting up", "the database system is shutting down",
        "the database system is in recovery mode", "the database system is not yet accepting connections",
        "the database system is not accepting connections", "too many clients already",
        "remaining connection slots are reserved", "too many connections for role",
        "too many connections for database", "terminating connection due to administrator command",
        "out of memory",
    ]
}
