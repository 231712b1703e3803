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

    /// PostgreSQL's condition name for the codes whose messages are withheld from logs (see
    /// ``PostgresError/message``), e.g. `invalid_text_representation` for 22P02; nil for others.
    public var conditionName: String? { Self.conditionNames[rawValue] }

    private static let conditionNames: [String: String] = [
        "22000": "data_exception", "22001": "string_data_right_truncation", "22003": "numeric_value_out_of_range",
        "22004": "null_value_not_allowed", "22007": "invalid_datetime_format", "22008": "datetime_field_overflow",
        "22012": "division_by_zero", "22021": "character_not_in_repertoire", "22023": "invalid_parameter_value",
        "22026": "string_data_length_mismatch", "2202E": "array_subscript_error",
        "22P02": "invalid_text_representation",
        "22P03": "invalid_binary_representation", "22P04": "bad_copy_file_format", "22P05": "untranslatable_character",
        "P0001": "raise_exception", "XX000": "internal_error",
    ]
}
