import Logging

extension Duration {
    /// Whole milliseconds, rounded to nearest: what log metadata keys ending in `_ms` carry.
    public var roundedMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + (attoseconds + 500_000_000_000_000) / 1_000_000_000_000_000
    }
}

extension Logger.MetadataValue {
    /// A duration as a JSON number of milliseconds: log it under a key ending in `_ms`
    /// (`"retry_in_ms": .milliseconds(delay)`), never as Swift's `"1.2345 seconds"` text.
    public static func milliseconds(_ duration: Duration) -> Logger.MetadataValue {
        .stringConvertible(duration.roundedMilliseconds)
    }
}
