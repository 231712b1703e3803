/// A failure of libpq or of the server, with libpq's own text.
///
/// `description` (and ``message``) are safe for logs: the operation, the SQLSTATE, and the
/// server's primary message only where its class never quotes a value from the data; for the
/// others (class 22, data exceptions: `invalid input syntax for type uuid: "…"`) the condition's
/// name stands in. Never the conninfo, bind values or SQL text. The server's own words, the DETAIL
/// line (which can quote row values) and the hint are in ``debugDescription`` and their fields,
/// for a person debugging, not for logs (postgres-nio's `PSQLError` does the same).
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// How a caller should react.
    public enum Category: Sendable, Equatable {
        /// Serialization failure or deadlock: run the transaction again.
        case retryable
        /// The connection is gone or the server is not accepting connections: reconnect with backoff.
        case connection
        /// The data broke a rule (SQLSTATE classes 22 and 23): retrying the same rows cannot help.
        case badData
        /// Anything else (syntax, missing table, permissions, authentication…).
        case other

        /// The classification rule, pure so it is unit-tested.
        public init(sqlState: SQLState?, connectionLost: Bool) {
            if connectionLost {
                self = .connection
                return
            }
            guard let sqlState else {
                self = .other
                return
            }
            switch sqlState {
            case .serializationFailure, .deadlockDetected:
                self = .retryable
            case .adminShutdown, .crashShutdown, .cannotConnectNow, .tooManyConnections:
                self = .connection
            default:
                switch sqlState.errorClass {
                case "08": self = .connection
                case "22", "23": self = .badData
                default: self = .other
                }
            }
        }
    }

    public let sqlState: SQLState?
    /// The primary message as libpq or the server wrote it; for class 22 it can quote the
    /// offending value, so it is kept out of logs: use ``message``.
    public let serverMessage: String
    public let detail: String?
    public let hint: String?
    public let constraint: String?
    /// True when the connection was unusable after the failure.
    public let connectionLost: Bool
    /// What was being done ("connect", "query", "begin"…), for the description.
    public let operation: String

    public init(
        operation: String, sqlState: SQLState?, message: String, detail: String? = nil, hint: String? = nil,
        constraint: String? = nil, connectionLost: Bool = false
    ) {
        self.operation = operation
        self.sqlState = sqlState
        self.serverMessage = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.connectionLost = connectionLost
    }

    public var category: Category { Category(sqlState: sqlState, connectionLost: connectionLost) }

    /// The primary message where it cannot quote a value (see the type's comment), else the
    /// condition's name. Safe for logs and dead-letter details.
    public var message: String {
        guard let sqlState, !Self.namesOnlyObjects(sqlState) else { return serverMessage }
        let condition = sqlState.conditionName ?? "server error of class \(sqlState.errorClass)"
        return "\(condition) (the server's text is withheld: it can quote the value)"
    }

    public var description: String {
        let code = sqlState.map { " [SQLSTATE \($0)]" } ?? ""
        return "PostgreSQL \(operation) failed\(code): \(message)"
    }

    /// Everything the server said, values included: for a person debugging, never for logs.
    public var debugDescription: String {
        let code = sqlState.map { " [SQLSTATE \($0)]" } ?? ""
        var text = "PostgreSQL \(operation) failed\(code): \(serverMessage)"
        if let detail { text += "; detail: \(detail)" }
        if let hint { text += "; hint: \(hint)" }
        if let constraint { text += "; constraint: \(constraint)" }
        return text
    }

    /// SQLSTATE classes whose primary messages name objects (tables, columns, constraints, roles,
    /// databases) and conditions, never a value from the data: connection (08), feature (0A),
    /// integrity (23: the values are in DETAIL), transaction state (25), authorization (28),
    /// catalog and schema names (3D, 3F), rollback (40), syntax and access (42), resources (53,
    /// 54), object state (55), operator intervention (57), system (58), configuration (F0).
    static func namesOnlyObjects(_ sqlState: SQLState) -> Bool {
        ["08", "0A", "23", "25", "28", "3D", "3F", "40", "42", "53", "54", "55", "57", "58", "F0"].contains(
            sqlState.errorClass)
    }

    /// A conflict found by our own checks that a retry of the transaction resolves; classified
    /// like a serialization failure.
    public static func retryableConflict(_ message: String) -> PostgresError {
        PostgresError(operation: "transaction", sqlState: .serializationFailure, message: message)
    }
}
