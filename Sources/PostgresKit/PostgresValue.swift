import Foundation

/// A parameter in PostgreSQL's binary wire format (big-endian, `*_send`/`*_recv`), with its type
/// OID. Binary parameters skip the text parsing of every float8 and uuid on the server (the
/// profile's largest cost after the array arithmetic); a whole column of a batch is one array.
///
/// Values are built only through the typed constructors, so a value's bytes always match its type.
public struct PostgresValue: Sendable {
    /// The parameter's type OID (`pg_type.oid`).
    public let type: PostgresType
    /// The encoded value; nil is SQL NULL.
    public let bytes: [UInt8]?

    init(type: PostgresType, bytes: [UInt8]?) {
        self.type = type
        self.bytes = bytes
    }

    public static let null = PostgresValue(type: .unknown, bytes: nil)

    public static func text(_ value: String) -> PostgresValue {
        PostgresValue(type: .text, bytes: Array(value.utf8))
    }

    public static func int64(_ value: Int64) -> PostgresValue {
        var writer = BinaryWriter(capacity: 8)
        writer.int64(value)
        return PostgresValue(type: .int8, bytes: writer.bytes)
    }

    public static func int32(_ value: Int32) -> PostgresValue {
        var writer = BinaryWriter(capacity: 4)
        writer.int32(value)
        return PostgresValue(type: .int4, bytes: writer.bytes)
    }

    public static func double(_ value: Double) -> PostgresValue {
        var writer = BinaryWriter(capacity: 8)
        writer.double(value)
        return PostgresValue(type: .float8, bytes: writer.bytes)
    }

    public static func bool(_ value: Bool) -> PostgresValue {
        PostgresValue(type: .bool, bytes: [value ? 1 : 0])
    }

    public static func uuid(_ value: UUID) -> PostgresValue {
        var writer = BinaryWriter(capacity: 16)
        writer.uuid(value)
        return PostgresValue(type: .uuid, bytes: writer.bytes)
    }

    public static func bytea(_ value: [UInt8]) -> PostgresValue {
        PostgresValue(type: .bytea, bytes: value)
    }

    public static func timestamp(_ value: Date) -> PostgresValue {
        var writer = BinaryWriter(capacity: 8)
        writer.timestamp(value)
        return PostgresValue(type: .timestamptz, bytes: writer.bytes)
    }

    // MARK: One-dimensional arrays (a column of a batch)

    public static func uuidArray(_ values: [UUID]) -> PostgresValue {
        array(of: .uuid, values.map { Optional($0) }, elementSize: 16) { $0.uuid($1) }
    }

    public static func optionalUUIDArray(_ values: [UUID?]) -> PostgresValue {
        array(of: .uuid, values, elementSize: 16) { $0.uuid($1) }
    }

    public static func textArray(_ values: [String]) -> PostgresValue {
        optionalTextArray(values.map { Optional($0) })
    }

    public static func optionalTextArray(_ values: [String?]) -> PostgresValue {
        array(of: .text, values, elementSize: nil) { writer, value in writer.raw(value.utf8) }
    }

    public static func int64Array(_ values: [Int64]) -> PostgresValue {
        array(of: .int8, values.map { Optional($0) }, elementSize: 8) { $0.int64($1) }
    }

    public static func int32Array(_ values: [Int32]) -> PostgresValue {
        array(of: .int4, values.map { Optional($0) }, elementSize: 4) { $0.int32($1) }
    }

    public static func doubleArray(_ values: [Double]) -> PostgresValue {
        values.withUnsafeBufferPointer { doubleArray($0) }
    }

    /// Doubles read straight from a buffer (e.g. a flat column of many rows' features). Written
    /// in one pass into preallocated storage: a batch's state rows are tens of thousands of doubles.
    public static func doubleArray(_ values: UnsafeBufferPointer<Double>) -> PostgresValue {
        var writer = BinaryWriter(capacity: 20)
        writer.arrayHeader(element: .float8, count: values.count, hasNulls: false)
        let header = writer.bytes
        let bytes = [UInt8](unsafeUninitializedCapacity: header.count + values.count * 12) { buffer, count in
            var offset = 0
            for byte in header {
                buffer[offset] = byte
                offset += 1
            }
            let raw = UnsafeMutableRawBufferPointer(buffer)
            let length = Int32(8).bigEndian
            for value in values {
                raw.storeBytes(of: length, toByteOffset: offset, as: Int32.self)
                raw.storeBytes(of: value.bitPattern.bigEndian, toByteOffset: offset + 4, as: UInt64.self)
                offset += 12
            }
            count = offset
        }
        return PostgresValue(type: PostgresType.float8.arrayType, bytes: bytes)
    }

    public static func optionalDoubleArray(_ values: [Double?]) -> PostgresValue {
        array(of: .float8, values, elementSize: 8) { $0.double($1) }
    }

    public static func timestampArray(_ values: [Date]) -> PostgresValue {
        array(of: .timestamptz, values.map { Optional($0) }, elementSize: 8) { $0.timestamp($1) }
    }

    public static func optionalTimestampArray(_ values: [Date?]) -> PostgresValue {
        array(of: .timestamptz, values, elementSize: 8) { $0.timestamp($1) }
    }

    public static func optionalBoolArray(_ values: [Bool?]) -> PostgresValue {
        array(of: .bool, values, elementSize: 1) { writer, value in writer.byte(value ? 1 : 0) }
    }

    public static func byteaArray(_ values: [[UInt8]?]) -> PostgresValue {
        array(of: .bytea, values, elementSize: nil) { writer, value in writer.raw(value) }
    }

    public static func tidArray(_ values: [PostgresTID]) -> PostgresValue {
        array(of: .tid, values.map { Optional($0) }, elementSize: 6) { writer, tid in
            writer.int32(Int32(bitPattern: tid.block))
            writer.int16(Int16(bitPattern: tid.offset))
        }
    }

    /// Transaction ids (`xmin` of a row version: which transaction wrote it).
    public static func xidArray(_ values: [UInt32]) -> PostgresValue {
        array(of: .xid, values.map { Optional($0) }, elementSize: 4) { writer, xid in
            writer.int32(Int32(bitPattern: xid))
        }
    }

    /// `ndim = 1`, lower bound 1; each element is its length (−1 for NULL) and its bytes.
    /// `elementSize` is the fixed size of an element, or nil when it varies (written, then
    /// patched).
    private static func array<Element>(
        of element: PostgresType, _ values: [Element?], elementSize: Int?, write: (inout BinaryWriter, Element) -> Void
    ) -> PostgresValue {
        var writer = BinaryWriter(capacity: 20 + values.count * ((elementSize ?? 16) + 4))
        writer.arrayHeader(element: element, count: values.count, hasNulls: values.contains { $0 == nil })
        for value in values {
            guard let value else {
                writer.int32(-1)
                continue
            }
            if let elementSize {
                writer.int32(Int32(elementSize))
                write(&writer, value)
            } else {
                let lengthAt = writer.bytes.count
                writer.int32(0)
                write(&writer, value)
                writer.patchInt32(at: lengthAt, Int32(writer.bytes.count - lengthAt - 4))
            }
        }
        return PostgresValue(type: element.arrayType, bytes: writer.bytes)
    }
}

/// A row's physical location (`ctid`): valid while the transaction holds the row's lock.
public struct PostgresTID: Sendable, Hashable {
    public var block: UInt32
    public var offset: UInt16

    public init(block: UInt32, offset: UInt16) {
        self.block = block
        self.offset = offset
    }
}

/// The type OIDs banditd binds and reads (`pg_type.oid`, fixed since PostgreSQL 8).
public struct PostgresType: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Lets the server infer the type from the statement (used for NULL).
    public static let unknown = PostgresType(rawValue: 0)
    public static let bool = PostgresType(rawValue: 16)
    public static let bytea = PostgresType(rawValue: 17)
    public static let int8 = PostgresType(rawValue: 20)
    public static let int4 = PostgresType(rawValue: 23)
    public static let text = PostgresType(rawValue: 25)
    public static let tid = PostgresType(rawValue: 27)
    public static let xid = PostgresType(rawValue: 28)
    public static let float8 = PostgresType(rawValue: 701)
    public static let timestamptz = PostgresType(rawValue: 1184)
    public static let uuid = PostgresType(rawValue: 2950)

    /// The one-dimensional array type of this element type.
    public var arrayType: PostgresType {
        switch self {
        case .bool: PostgresType(rawValue: 1000)
        case .bytea: PostgresType(rawValue: 1001)
        case .int4: PostgresType(rawValue: 1007)
        case .text: PostgresType(rawValue: 1009)
        case .tid: PostgresType(rawValue: 1010)
        case .xid: PostgresType(rawValue: 1011)
        case .int8: PostgresType(rawValue: 1016)
        case .float8: PostgresType(rawValue: 1022)
        case .timestamptz: PostgresType(rawValue: 1185)
        case .uuid: PostgresType(rawValue: 2951)
        default: preconditionFailure("no array type known for OID \(rawValue)")
        }
    }
}

/// Big-endian writer for the binary wire format.
struct BinaryWriter {
    var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func int16(_ value: Int16) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func int32(_ value: Int32) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func int64(_ value: Int64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func double(_ value: Double) { int64(Int64(bitPattern: value.bitPattern)) }

    mutating func uuid(_ value: UUID) {
        withUnsafeBytes(of: value.uuid) { bytes.append(contentsOf: $0) }
    }

    /// Microseconds since 2000-01-01 00:00:00 UTC (PostgreSQL's integer timestamps).
    mutating func timestamp(_ value: Date) {
        let micros = ((value.timeIntervalSince1970 - PostgresEpoch.unixOffset) * 1_000_000).rounded()
        int64(micros.isFinite ? Int64(micros) : 0)
    }

    mutating func raw(_ value: some Sequence<UInt8>) { bytes.append(contentsOf: value) }

    mutating func patchInt32(at index: Int, _ value: Int32) {
        let bits = UInt32(bitPattern: value)
        bytes[index] = UInt8(truncatingIfNeeded: bits >> 24)
        bytes[index + 1] = UInt8(truncatingIfNeeded: bits >> 16)
        bytes[index + 2] = UInt8(truncatingIfNeeded: bits >> 8)
        bytes[index + 3] = UInt8(truncatingIfNeeded: bits)
    }

    mutating func arrayHeader(element: PostgresType, count: Int, hasNulls: Bool) {
        guard count > 0 else {
            // The empty array has no dimensions at all.
            int32(0)
            int32(0)
            int32(Int32(bitPattern: element.rawValue))
            return
        }
        int32(1)  // dimensions
        int32(hasNulls ? 1 : 0)
        int32(Int32(bitPattern: element.rawValue))
        int32(Int32(count))
        int32(1)  // lower bound
    }
}

public enum PostgresEpoch {
    /// Seconds from 1970-01-01 to 2000-01-01.
    static let unixOffset: Double = 946_684_800

    /// `value` as a timestamptz parameter writes it and a result reads it back (whole
    /// microseconds): what a cached copy of a written row must hold to equal the row.
    public static func stored(_ value: Date) -> Date {
        var writer = BinaryWriter(capacity: 8)
        writer.timestamp(value)
        let micros = writer.bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Date(timeIntervalSince1970: Double(Int64(bitPattern: micros)) / 1_000_000 + unixOffset)
    }
}

/// One statement of a pipeline: SQL and its binary parameters.
public struct PostgresStatement: Sendable {
    public var sql: SQL
    public var values: [PostgresValue]

    public init(_ sql: SQL, _ values: [PostgresValue] = []) {
        self.sql = sql
        self.values = values
    }
}
