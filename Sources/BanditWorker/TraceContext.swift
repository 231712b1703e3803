import W3CTraceContext

/// The W3C trace context of a message (`traceparent` header, https://www.w3.org/TR/trace-context/),
/// parsed by swift-w3c-trace-context; its trace id goes into every log line for that message.
///
/// Version `00` must be exactly `00-{32 hex trace id}-{16 hex span id}-{2 hex flags}`, lower-case,
/// with neither id all zeros. A later version is read as the spec asks of a version-00 parser: the
/// same first four fields, then either the end or a dash before fields it does not know. Version
/// `ff` is invalid. An invalid header is ignored (the message is processed without a trace id).
public enum TraceContext {
    /// The trace id, 32 lower-case hex digits, of a valid `traceparent`; nil when there is none.
    public static func traceID(fromTraceparent header: String?) -> String? {
        guard let header, let context = parse(header) else { return nil }
        return context.traceID.description
    }

    /// The header's trace context, or nil when it is not a valid `traceparent`.
    public static func parse(_ header: String) -> W3CTraceContext.TraceContext? {
        let bytes = Array(header.utf8)
        guard bytes.count >= versionZeroLength, isLowerHex(bytes[0]), isLowerHex(bytes[1]) else { return nil }
        var versionZero = header
        if bytes[0] != UInt8(ascii: "0") || bytes[1] != UInt8(ascii: "0") {
            guard !(bytes[0] == UInt8(ascii: "f") && bytes[1] == UInt8(ascii: "f")),
                bytes.count == versionZeroLength || bytes[versionZeroLength] == UInt8(ascii: "-")
            else { return nil }
            versionZero = "00" + String(decoding: bytes[2..<versionZeroLength], as: UTF8.self)
        }
        return try? W3CTraceContext.TraceContext(traceParentHeaderValue: versionZero)
    }

    /// `00-` + 32 + `-` + 16 + `-` + 2.
    static let versionZeroLength = 55

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
