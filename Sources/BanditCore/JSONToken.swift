/// One scanned JSON value: its kind and where its text lies in the body.
struct JSONToken: Sendable {
    enum Kind: UInt8, Sendable {
        case object, array, string, number, `true`, `false`, null
    }

    var kind: Kind
    /// Offset of the first byte (the quote of a string, the bracket of a container).
    var start: Int
    /// Offset after the last byte.
    var end: Int
    /// A string containing at least one backslash escape.
    var hasEscapes: Bool
    /// A number without fraction and exponent (`1`, `-0`; not `1.0` or `1e0`).
    var isInteger: Bool
    /// A string whose text is all ASCII.
    var isASCII: Bool
    /// A number's value when the scanner could compute it exactly on the way (NaN when the
    /// slow path is needed; see `JSONNumber.double`).
    var value: Double

    init(
        kind: Kind, start: Int, end: Int, hasEscapes: Bool = false, isInteger: Bool = false, isASCII: Bool = false,
        value: Double = .nan
    ) {
        self.kind = kind
        self.start = start
        self.end = end
        self.hasEscapes = hasEscapes
        self.isInteger = isInteger
        self.isASCII = isASCII
        self.value = value
    }
}

/// Why a body is not JSON we accept; `offset` is a byte offset into the body.
struct JSONSyntaxError: Error, Sendable {
    let offset: Int
    let message: String
}
