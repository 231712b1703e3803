/// A short byte string (≤ 16 bytes) as length + two words, so matching a member name or an
/// enum value against a small table is a few integer compares instead of a byte loop.
struct NameSignature: Equatable, Sendable {
    static let maxLength = 16

    let length: Int
    let head: UInt64
    let tail: UInt64

    private init(length: Int, head: UInt64, tail: UInt64) {
        self.length = length
        self.head = head
        self.tail = tail
    }

    /// nil when longer than `maxLength`: such a name matches nothing in our tables.
    @inline(__always)
    init?(_ bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        guard count <= NameSignature.maxLength else { return nil }
        length = count
        if count >= 8 {
            head = bytes.loadUnaligned(as: UInt64.self)
            tail = bytes.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        } else {
            var word: UInt64 = 0
            for index in 0..<count {
                word |= UInt64(bytes[index]) << (8 * UInt64(index))
            }
            head = word
            tail = 0
        }
    }

    /// The signature of `buffer[start..<start + count]`, reading a short name with one
    /// 8-byte load when the buffer extends far enough past it.
    @inline(__always)
    init?(in buffer: UnsafeRawBufferPointer, start: Int, count: Int) {
        if count < 8, start + 8 <= buffer.count {
            let word = buffer.loadUnaligned(fromByteOffset: start, as: UInt64.self)
            self.init(length: count, head: word & ((1 << (8 * UInt64(count))) &- 1), tail: 0)
        } else {
            self.init(UnsafeRawBufferPointer(rebasing: buffer[start..<(start + count)]))
        }
    }

    init(_ text: String) {
        let bytes = Array(text.utf8)
        precondition(bytes.count <= NameSignature.maxLength, "name too long for a signature: \(text)")
        self = bytes.withUnsafeBytes { NameSignature($0)! }
    }
}

/// Enums matched from raw UTF-8 without building a `String`.
protocol ByteMatchable: RawRepresentable, CaseIterable, Sendable where RawValue == String {
    static var signatures: [(NameSignature, Self)] { get }
}

extension ByteMatchable {
    static func makeSignatures() -> [(NameSignature, Self)] {
        allCases.map { (NameSignature($0.rawValue), $0) }
    }

    @inline(__always)
    static func match(_ bytes: UnsafeRawBufferPointer) -> Self? {
        guard let signature = NameSignature(bytes) else { return nil }
        for (candidate, value) in signatures where candidate == signature { return value }
        return nil
    }
}

extension EventSource: ByteMatchable {
    static let signatures = makeSignatures()
}

extension TipAction: ByteMatchable {
    static let signatures = makeSignatures()
}

extension TaskType: ByteMatchable {
    static let signatures = makeSignatures()
}

extension TaskTypeSource: ByteMatchable {
    static let signatures = makeSignatures()
}

extension ConstraintBand: ByteMatchable {
    static let signatures = makeSignatures()
}
