import CLibPQ
import Foundation

/// A result in binary format, read in place: owns the `PGresult` and clears it in `deinit`.
/// Not Sendable (it belongs to the connection's thread); read what you need and drop it.
///
/// Every accessor checks the column's type OID and the value's length, so a query that returns
/// another type than the caller expects is a clear error, never a misread.
public final class PostgresResult {
    private let result: OpaquePointer
    public let rowCount: Int
    public let columnCount: Int
    /// `PQcmdTuples`: rows inserted, updated or deleted.
    public let affectedRows: Int

    init(owning result: OpaquePointer) {
        self.result = result
        rowCount = Int(PQntuples(result))
        columnCount = Int(PQnfields(result))
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    deinit { PQclear(result) }

    public func isNull(_ row: Int, _ column: Int) -> Bool {
        PQgetisnull(result, Int32(row), Int32(column)) == 1
    }

    public func uuid(_ row: Int, _ column: Int) throws(PostgresError) -> UUID {
        let bytes = try value(row, column, .uuid, length: 16)
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }

    public func optionalUUID(_ row: Int, _ column: Int) throws(PostgresError) -> UUID? {
        isNull(row, column) ? nil : try uuid(row, column)
    }

    public func text(_ row: Int, _ column: Int) throws(PostgresError) -> String {
        let bytes = try value(row, column, .text, length: nil)
        return String(decoding: bytes, as: UTF8.self)
    }

    public func optionalText(_ row: Int, _ column: Int) throws(PostgresError) -> String? {
        isNull(row, column) ? nil : try text(row, column)
    }

    public func int64(_ row: Int, _ column: Int) throws(PostgresError) -> Int64 {
        let type = PostgresType(rawValue: PQftype(result, Int32(column)))
        if type == .int4 { return Int64(BinaryReader.int32(try value(row, column, .int4, length: 4), at: 0)) }
        return BinaryReader.int64(try value(row, column, .int8, length: 8), at: 0)
    }

    public func double(_ row: Int, _ column: Int) throws(PostgresError) -> Double {
        Double(bitPattern: UInt64(bitPattern: BinaryReader.int64(try value(row, column, .float8, length: 8), at: 0)))
    }

    public func optionalDouble(_ row: Int, _ column: Int) throws(PostgresError) -> Double? {
        isNull(row, column) ? nil : try double(row, column)
    }

    public func bool(_ row: Int, _ column: Int) throws(PostgresError) -> Bool {
        try value(row, column, .bool, length: 1)[0] != 0
    }

    public func bytes(_ row: Int, _ column: Int) throws(PostgresError) -> [UInt8] {
        Array(try value(row, column, .bytea, length: nil))
    }

    public func timestamp(_ row: Int, _ column: Int) throws(PostgresError) -> Date {
        let micros = BinaryReader.int64(try value(row, column, .timestamptz, length: 8), at: 0)
        return Date(timeIntervalSince1970: Double(micros) / 1_000_000 + PostgresEpoch.unixOffset)
    }

    public func optionalTimestamp(_ row: Int, _ column: Int) throws(PostgresError) -> Date? {
        isNull(row, column) ? nil : try timestamp(row, column)
    }

    public func tid(_ row: Int, _ column: Int) throws(PostgresError) -> PostgresTID {
        let bytes = try value(row, column, .tid, length: 6)
        return PostgresTID(
            block: UInt32(bitPattern: BinaryReader.int32(bytes, at: 0)),
            offset: UInt16(bytes[4]) << 8 | UInt16(bytes[5]))
    }

    /// A transaction id (`xmin`, `xmax`).
    public func xid(_ row: Int, _ column: Int) throws(PostgresError) -> UInt32 {
        UInt32(bitPattern: BinaryReader.int32(try value(row, column, .xid, length: 4), at: 0))
    }

    /// A float8[] without NULLs, appended to `output` (so many rows can fill one flat buffer).
    public func appendDoubleArray(_ row: Int, _ column: Int, to output: inout [Double]) throws(PostgresError) {
        let bytes = try value(row, column, PostgresType.float8.arrayType, length: nil)
        try BinaryReader.forEachArrayElement(bytes, element: .float8, column: column) {
            (element) throws(PostgresError) in
            guard let element, element.count == 8 else {
                throw PostgresResult.error("column \(column) holds a NULL or malformed float8 element")
            }
            output.append(Double(bitPattern: UInt64(bitPattern: BinaryReader.int64(element, at: 0))))
        }
    }

    public func doubleArray(_ row: Int, _ column: Int) throws(PostgresError) -> [Double] {
        var values: [Double] = []
        try appendDoubleArray(row, column, to: &values)
        return values
    }

    public func textArray(_ row: Int, _ column: Int) throws(PostgresError) -> [String] {
        let bytes = try value(row, column, PostgresType.text.arrayType, length: nil)
        var values: [String] = []
        try BinaryReader.forEachArrayElement(bytes, element: .text, column: column) { (element) throws(PostgresError) in
            guard let element else { throw PostgresResult.error("column \(column) holds a NULL text element") }
            values.append(String(decoding: element, as: UTF8.self))
        }
        return values
    }

    /// The raw bytes of one value, checked against the expected type and (fixed) length.
    private func value(
        _ row: Int, _ column: Int, _ type: PostgresType, length: Int?
    ) throws(PostgresError) -> UnsafeBufferPointer<UInt8> {
        guard row >= 0, row < rowCount, column >= 0, column < columnCount else {
            throw Self.error("row \(row), column \(column) is outside the result (\(rowCount)×\(columnCount))")
        }
        guard PQfformat(result, Int32(column)) == 1 else {
            throw Self.error("column \(column) is not in binary format")
        }
        let actual = PostgresType(rawValue: PQftype(result, Int32(column)))
        guard actual == type else {
            throw Self.error("column \(column) has type OID \(actual.rawValue), expected \(type.rawValue)")
        }
        guard !isNull(row, column) else { throw Self.error("column \(column) is NULL") }
        let count = Int(PQgetlength(result, Int32(row), Int32(column)))
        if let length, count != length {
            throw Self.error("column \(column) has \(count) bytes, expected \(length)")
        }
        let pointer = UnsafeRawPointer(PQgetvalue(result, Int32(row), Int32(column))!)
        return UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: UInt8.self), count: count)
    }

    static func error(_ message: String) -> PostgresError {
        PostgresError(operation: "read result", sqlState: nil, message: message)
    }
}

/// Big-endian reads of the binary wire format.
enum BinaryReader {
    static func int32(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> Int32 {
        Int32(
            bitPattern: UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
                | UInt32(bytes[offset + 3]))
    }

    static func int64(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> Int64 {
        var value: UInt64 = 0
        for index in offset..<offset + 8 { value = value << 8 | UInt64(bytes[index]) }
        return Int64(bitPattern: value)
    }

    /// Walks a one-dimensional binary array (an empty array has no dimensions).
    static func forEachArrayElement(
        _ bytes: UnsafeBufferPointer<UInt8>, element: PostgresType, column: Int,
        _ body: (UnsafeBufferPointer<UInt8>?) throws(PostgresError) -> Void
    ) throws(PostgresError) {
        guard bytes.count >= 12 else { throw PostgresResult.error("column \(column) is a malformed array") }
        let dimensions = int32(bytes, at: 0)
        guard UInt32(bitPattern: int32(bytes, at: 8)) == element.rawValue else {
            throw PostgresResult.error("column \(column) is an array of another element type")
        }
        if dimensions == 0 { return }
        guard dimensions == 1, bytes.count >= 20 else {
            throw PostgresResult.error("column \(column) is not a one-dimensional array")
        }
        let count = Int(int32(bytes, at: 12))
        var offset = 20
        for _ in 0..<count {
            guard offset + 4 <= bytes.count else { throw PostgresResult.error("column \(column) is a truncated array") }
            let length = Int(int32(bytes, at: offset))
            offset += 4
            if length < 0 {
                try body(nil)
                continue
            }
            guard offset + length <= bytes.count else {
                throw PostgresResult.error("column \(column) is a truncated array")
            }
            try body(UnsafeBufferPointer(rebasing: bytes[offset..<offset + length]))
            offset += length
        }
    }
}
