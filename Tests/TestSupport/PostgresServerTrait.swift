import Foundation
import Testing

/// Starts one ``PostgresServer`` for a suite, exposes it as ``PostgresServer/current`` while the
/// suite's tests run, and always stops it afterwards — when tests fail and when they throw.
///
/// ```swift
/// @Suite(.postgresServer, .serialized)
/// struct SomeIntegrationTests {
///     @Test func roundTrip() throws {
///         let server = try PostgresServer.requireCurrent()
///         let database = try server.createDatabase()
///         …
///     }
/// }
/// ```
///
/// A missing `initdb`/`pg_ctl`/`psql` or a server that does not start fails the suite with the
/// reason; it never skips. Set `BANDITD_TEST_KEEP_SERVER_FILES=1` to keep the data directory and
/// logs after the suite (the server is stopped all the same). Pattern for other servers: a `SuiteTrait & TestScoping` whose
/// `isRecursive` is false (one server per suite, not per test), a `@TaskLocal` for the instance,
/// and start/stop on a dedicated thread because they block.
public struct PostgresServerTrait: SuiteTrait, TestScoping {
    public var isRecursive: Bool { false }

    public init() {}

    public func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await onDedicatedThread { try PostgresServer.start() }
        let keepFiles = ProcessInfo.processInfo.environment["BANDITD_TEST_KEEP_SERVER_FILES"] != nil
        do {
            try await PostgresServer.$current.withValue(server) {
                try await function()
            }
        } catch {
            _ = try? await onDedicatedThread { server.stop(keepFiles: keepFiles) }
            throw error
        }
        _ = try await onDedicatedThread { server.stop(keepFiles: keepFiles) }
    }
}

extension Trait where Self == PostgresServerTrait {
    /// One throwaway PostgreSQL server for the whole suite; see ``PostgresServerTrait``.
    public static var postgresServer: Self { Self() }
}
