/// A policy configuration that cannot be used, naming the offending key.
public struct PolicyConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Path of the key, e.g. `policies[2].lambda`.
    public let key: String
    public let message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}
