import Foundation
import PostgresKit

/// A bind value of the batch statements: every one travels as a text array literal and is cast
/// in SQL (`$n::uuid[]`), so a whole column of the batch is one parameter.
enum StoreBind {
    case uuidArray([UUID])
    case textArray([String])
    case int64Array([Int64])
    case doubleArray([Double])
    case timestampArray([Date])
    /// One array literal per row (e.g. each decision's features), nil for a row without one;
    /// bound as text[] and cast per row, because `unnest` flattens a 2-D array.
    case nestedArrays([String?])
    case optionalBoolArray([Bool?])

    var text: String {
        switch self {
        case .uuidArray(let values): PostgresText.array(values)
        case .textArray(let values): PostgresText.array(values)
        case .int64Array(let values): PostgresText.array(values)
        case .doubleArray(let values): PostgresText.array(values)
        case .timestampArray(let values): PostgresText.array(values.map(PostgresText.timestamp))
        case .nestedArrays(let values): PostgresText.array(values)
        case .optionalBoolArray(let values): PostgresText.array(values)
        }
    }
}

extension PostgresConnection {
    @discardableResult
    func query(_ sql: SQL, _ binds: [StoreBind]) throws(PostgresError) -> PostgresRows {
        try query(sql, binds.map { $0.text })
    }

    @discardableResult
    func execute(_ sql: SQL, _ binds: [StoreBind]) throws(PostgresError) -> Int {
        try execute(sql, binds.map { $0.text })
    }
}
