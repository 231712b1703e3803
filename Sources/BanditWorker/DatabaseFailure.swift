import PostgresKit

/// Why a batch could not be applied, as far as holding it is concerned. Pure, so every
/// classification is unit-tested.
public enum DatabaseFailure: Sendable, Equatable {
    /// A serialization failure or deadlock (40001, 40P01): retry the transaction at once, a few times.
    case conflict
    /// The database cannot take the batch now, through no fault of its messages: hold it, keep
    /// it alive, retry with backoff for as long as it takes. `reconnect` asks for a new session
    /// (the connection is gone, or a failover may have moved the primary).
    case unavailable(HoldReason, reconnect: Bool)

    public init(_ error: PostgresError) {
        switch error.category {
        case .retryable:
            self = .conflict
            return
        case .connection:
            self = .unavailable(HoldReason(kind: .unreachable, sqlState: error.sqlState), reconnect: true)
            return
        case .badData, .other:
            break
        }
        let state = error.sqlState
        switch state?.rawValue {
        case "25006":
            self = .unavailable(HoldReason(kind: .readOnly, sqlState: state), reconnect: true)
        case "55P03":
            self = .unavailable(HoldReason(kind: .lockTimeout, sqlState: state), reconnect: false)
        case "57014":
            self = .unavailable(HoldReason(kind: .statementTimeout, sqlState: state), reconnect: false)
        default:
            switch state?.errorClass {
            case "42" where state?.rawValue == "42501":
                self = .unavailable(HoldReason(kind: .permissionDenied, sqlState: state), reconnect: false)
            case "42", "3F":
                self = .unavailable(HoldReason(kind: .schemaProblem, sqlState: state), reconnect: false)
            case "28":
                self = .unavailable(HoldReason(kind: .authentication, sqlState: state), reconnect: true)
            case "53":
                self = .unavailable(HoldReason(kind: .insufficientResources, sqlState: state), reconnect: false)
            default:
                self = .unavailable(HoldReason(kind: .otherError, sqlState: state), reconnect: true)
            }
        }
    }
}

/// Why a worker holds its batch: shown in health, metrics and logs.
public struct HoldReason: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case unreachable = "postgres_unreachable"
        case readOnly = "postgres_read_only"
        case permissionDenied = "postgres_permission_denied"
        case schemaProblem = "postgres_schema_problem"
        case lockTimeout = "postgres_lock_timeout"
        case statementTimeout = "postgres_statement_timeout"
        case authentication = "postgres_authentication"
        case insufficientResources = "postgres_insufficient_resources"
        case otherError = "postgres_error"
    }

    public var kind: Kind
    public var sqlState: SQLState?

    public init(kind: Kind, sqlState: SQLState?) {
        self.kind = kind
        self.sqlState = sqlState
    }

    /// A sentence for operators (no values from messages: those stay out of logs).
    public var description: String {
        let code = sqlState.map { " (SQLSTATE \($0))" } ?? ""
        switch kind {
        case .unreachable: return "PostgreSQL is unreachable" + code
        case .readOnly:
            return "PostgreSQL is read-only\(code): a failover or a standby? Waiting for a writable primary"
        case .permissionDenied: return "permission denied\(code): check the role's grants on banditd's tables"
        case .schemaProblem: return "schema problem\(code): a table, column or function is missing or renamed"
        case .lockTimeout: return "lock timeout\(code): a row this batch needs is locked by another session"
        case .statementTimeout: return "statement timeout\(code)"
        case .authentication: return "authentication failed\(code)"
        case .insufficientResources: return "PostgreSQL is out of resources\(code) (disk full? too many connections?)"
        case .otherError: return "PostgreSQL error" + code
        }
    }
}
