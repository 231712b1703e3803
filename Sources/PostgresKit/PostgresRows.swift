import CLibPQ
import Foundation

/// The rows of a result, copied out of the `PGresult` (text format) so it can be cleared at once.
public struct PostgresRows: Sendable {
    public let columns: [String]
    public let rows: [PostgresRow]
    /// `PQcmdTuples`: rows inserted, updated or deleted (0 for a SELECT's command tag).
    public let affectedRows: Int

    init(copying result: OpaquePointer) {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [PostgresRow] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
            rows.append(PostgresRow(values: values))
        }
        self.rows = rows
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
    }
}

/// One row in text format, with typed reads that fail clearly on NULL or a type mismatch.
public struct PostgresRow: Sendable, Equatable {
    public let values: [String?]

    public init(values: [String?]) {
        self.values = values
    }

    public func optionalString(_ column: Int) throws(PostgresError) -> String? {
        guard values.indices.contains(column) else {
            throw Self.decodingError("column \(column) does not exist (the row has \(values.count))")
        }
        return values[column]
    }

    public func string(_ column: Int) throws(PostgresError) -> String {
        guard let value = try optionalString(column) else { throw Self.decodingError("column \(column) is NULL") }
        return value
    }

    public func int64(_ column: Int) throws(PostgresError) -> Int64 {
        try parse(column, "bigint") { Int64($0) }
    }

    public func int(_ column: Int) throws(PostgresError) -> Int {
        try parse(column, "integer") { Int($0) }
    }

    public func double(_ column: Int) throws(PostgresError) -> Double {
        try parse(column, "float8") { PostgresText.double($0) }
    }

    public func bool(_ column: Int) throws(PostgresError) -> Bool {
        try parse(column, "boolean") { $0 == "t" ? true : $0 == "f" ? false : nil }
    }

    public func uuid(_ column: Int) throws(PostgresError) -> UUID {
        try parse(column, "uuid") { UUID(uuidString: $0) }
    }

    public func optionalUUID(_ column: Int) throws(PostgresError) -> UUID? {
        guard let text = try optionalString(column) else { return nil }
        guard let value = UUID(uuidString: text) else { throw Self.decodingError("column \(column) is not a uuid") }
        return value
    }

    /// A timestamptz, as the server prints it with `DateStyle = ISO`.
    public func date(_ column: Int) throws(PostgresError) -> Date {
        try parse(column, "timestamptz") { PostgresText.timestamp($0) }
    }

    public func doubleArray(_ column: Int) throws(PostgresError) -> [Double] {
        try parse(column, "float8[]") { PostgresText.doubleArray($0) }
    }

    public func optionalDoubleArray(_ column: Int) throws(PostgresError) -> [Double]? {
        guard try optionalString(column) != nil else { return nil }
        return try doubleArray(column)
    }

    public func stringArray(_ column: Int) throws(PostgresError) -> [String] {
        try parse(column, "text[]") { PostgresText.stringArray($0) }
    }

    public func optionalStringArray(_ column: Int) throws(PostgresError) -> [String]? {
        guard try optionalString(column) != nil else { return nil }
        return try stringArray(column)
    }

    private func parse<T>(_ column: Int, _ type: String, _ convert: (String) -> T?) throws(PostgresError) -> T {
        let text = try string(column)
        guard let value = convert(text) else { throw Self.decodingError("column \(column) is not a valid \(type)") }
        return value
    }

    private static func decodingError(_ message: String) -> PostgresError {
        PostgresError(operation: "read row", sqlState: nil, message: message)
    }
}
