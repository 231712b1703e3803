/// One scanned JSON value: its kind and where its text lies in the body.
///
/// Kept to 24 bytes (offsets as `UInt32`; `EventDecoder` caps bodies below 4 GiB) so it is
/// returned in registers: the scanner hands out one per value.
struct JSONToken: Sendable {
    enum Kind: UInt8, Sendable {
        case object, array, string, number, `true`, `false`, null
    }

    /// A number's value when the scanner could compute it exactly on the way (NaN when the
    /// slow path is needed; see `JSONNumber.double`).
    var value: Double
    private var startOffset: UInt32
    private var endOffset: UInt32
    var kind: Kind
    /// A string containing at least one backslash escape.
    var hasEscapes: Bool
    /// A number without fraction and exponent (`1`, `-0`; not `1.0` or `1e0`).
    var isInteger: Bool
    /// A string whose text is all ASCII.
    var isASCII: Bool

    /// Offset of the first byte (the quote of a string, the bracket of a container).
    var start: Int { Int(startOffset) }
    /// Offset after the last byte.
    var end: Int { Int(endOffset) }

    init(
        kind: Kind, start: Int, end: Int, hasEscapes: Bool = false, isInteger: Bool = false, isASCII: Bool = false,
        value: Double = .nan
    ) {
        self.value = value
        self.startOffset = UInt32(truncatingIfNeeded: start)
        self.endOffset = UInt32(truncatingIfNeeded: end)
        self.kind = kind
        self.hasEscapes = hasEscapes
        self.isInteger = isInteger
        self.isASCII = isASCII
    }
}

/// Why a body is not JSON we accept; `offset` is a byte offset into the body.
struct JSONSyntaxError: Error, Sendable {
    let offset: Int
    let message: String
}
