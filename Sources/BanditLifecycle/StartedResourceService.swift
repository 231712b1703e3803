import ServiceLifecycle

/// Something started before the group runs (a listening socket, the watchdog's ticker) and
/// stopped when the group shuts it down. Starting happens before the group so that a failure (a
/// live daemon owns the health socket, the metrics port is taken) ends the process before it
/// touches PostgreSQL or NATS; the group's reverse-order shutdown stops these last, so health
/// answers `stopping` and the watchdog pings while the workers settle.
public struct StartedResourceService: Service, CustomStringConvertible {
    public let name: String
    let stop: @Sendable () -> Void

    public init(name: String, stop: @escaping @Sendable () -> Void) {
        self.name = name
        self.stop = stop
    }

    public var description: String { name }

    public func run() async throws {
        defer { stop() }
        // Returns on graceful shutdown, throws on cancellation: either way the resource stops.
        try? await gracefulShutdown()
    }
}
