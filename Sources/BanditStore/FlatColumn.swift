import PostgresKit

/// Per-row arrays of a batch (each decision's features, each state row's `a`) packed into one
/// flat array parameter, with each row's 1-based bounds: the statement takes its row's part
/// with a slice, `($n::float8[])[t.from : t.to]`. (`unnest` of a 2-D array would flatten it, and
/// text literals per row would be parsed per element: this is one binary parameter for all.)
struct FlatColumn<Element> {
    private(set) var values: [Element] = []
    private(set) var from: [Int32] = []
    private(set) var to: [Int32] = []

    init(capacity: Int = 0) {
        values.reserveCapacity(capacity)
    }

    /// Appends one row's array; nil (SQL NULL) is written as an empty range, `from > to`, which
    /// the statement turns back into NULL.
    mutating func append(_ row: [Element]?) {
        from.append(Int32(values.count + 1))
        if let row { values.append(contentsOf: row) }
        to.append(Int32(values.count))
        if row == nil { from[from.count - 1] = to[to.count - 1] + 1 }
    }

    var fromValue: PostgresValue { .int32Array(from) }
    var toValue: PostgresValue { .int32Array(to) }
}

extension FlatColumn where Element == Double {
    var value: PostgresValue { .doubleArray(values) }
}

extension FlatColumn where Element == String {
    var value: PostgresValue { .textArray(values) }
}
