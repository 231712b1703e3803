import Testing

/// One throwaway `nats-server -js` per suite, exposed as ``NATSServer/current`` while the suite's
/// tests run and always stopped afterwards. Same pattern as ``PostgresServerTrait``.
///
/// A missing `nats-server` binary fails the suite with the reason; it never skips.
public struct NATSServerTrait: SuiteTrait, TestScoping {
    public var isRecursive: Bool { false }

    public init() {}

    public func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await onDedicatedThread { try NATSServer.start() }
        do {
            try await NATSServer.$current.withValue(server) {
                try await function()
            }
        } catch {
            _ = try? await onDedicatedThread { server.stop() }
            throw error
        }
        _ = try await onDedicatedThread { server.stop() }
    }
}

extension Trait where Self == NATSServerTrait {
    /// One throwaway NATS server with JetStream for the whole suite; see ``NATSServerTrait``.
    public static var natsServer: Self { Self() }
}
