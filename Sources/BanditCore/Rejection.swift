/// Why a message cannot be applied: a stable reason code and a precise, human-readable detail.
///
/// `detail` names the field path (`features[3]`), what was expected and what came. It is safe
/// to put in a NATS header: it never contains control characters, and quoted input is cut
/// to a few dozen characters.
public struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: RejectionReason
    public let detail: String

    public init(reason: RejectionReason, detail: String) {
        self.reason = reason
        self.detail = Rejection.headerSafe(detail)
    }

    public var description: String { "\(reason.rawValue): \(detail)" }

    /// Replaces control characters (C0, DEL, C1, line and paragraph separators) so the text
    /// fits in one header line.
    static func headerSafe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            out.append(isUnsafe(scalar) ? "?" : scalar)
        }
        return String(out)
    }

    private static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return value < 0x20 || (value >= 0x7F && value < 0xA0) || value == 0x2028 || value == 0x2029
    }
}
