/// W3C trace context: `traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`.
public enum TraceContext {
    public static func traceID(fromTraceparent header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: "-")
        guard parts.count >= 4, parts[1].count == 32, parts[1].allSatisfy(\.isHexDigit),
            parts[1] != "00000000000000000000000000000000"
        else { return nil }
        return parts[1].lowercased()
    }
}
