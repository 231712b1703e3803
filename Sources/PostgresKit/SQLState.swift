/// A PostgreSQL error code (SQLSTATE), with the ones banditd reacts to by name.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The two-character class, e.g. "23" for integrity constraint violations.
    public var errorClass: Substring { rawValue.prefix(2) }

    public var description: String { rawValue }

    public static let serializationFailure = SQLState(rawValue: "40001")
    public static let deadlockDetected = SQLState(rawValue: "40P01")
    public static let uniqueViolation = SQLState(rawValue: "23505")
    public static let checkViolation = SQLState(rawValue: "23514")
    public static let notNullViolation = SQLState(rawValue: "23502")
    public static let foreignKeyViolation = SQLState(rawValue: "23503")
    public static let invalidTextRepresentation = SQLState(rawValue: "22P02")
    public static let numericValueOutOfRange = SQLState(rawValue: "22003")
    public static let adminShutdown = SQLState(rawValue: "57P01")
    public static let crashShutdown = SQLState(rawValue: "57P02")
    public static let cannotConnectNow = SQLState(rawValue: "57P03")
    public static let tooManyConnections = SQLState(rawValue: "53300")
    public static let invalidPassword = SQLState(rawValue: "28P01")
    public static let invalidAuthorization = SQLState(rawValue: "28000")
    public static let undefinedTable = SQLState(rawValue: "42P01")
}
