/// A configuration value that cannot be used, named by its key (`nats.max_deliver`) or its
/// environment variable (`NATS_MAX_DELIVER`). Secret values are never echoed.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key path in the file, or the environment variable.
    public let key: String
    public let message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "configuration error: \(key): \(message)" }
}
