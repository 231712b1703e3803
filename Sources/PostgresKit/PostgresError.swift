/// A failure of libpq or of the server, with libpq's own text. `description` carries the
/// SQLSTATE and the server's primary message only: never the conninfo, bind values or SQL text
/// (a DETAIL line can quote row values, so it is kept apart in `detail`).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
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
    public let message: String
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
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.connectionLost = connectionLost
    }

    public var category: Category { Category(sqlState: sqlState, connectionLost: connectionLost) }

    public var description: String {
        let code = sqlState.map { " [SQLSTATE \($0)]" } ?? ""
        return "PostgreSQL \(operation) failed\(code): \(message)"
    }

    /// A conflict found by our own checks that a retry of the transaction resolves; classified
    /// like a serialization failure.
    public static func retryableConflict(_ message: String) -> PostgresError {
        PostgresError(operation: "transaction", sqlState: .serializationFailure, message: message)
    }
}
