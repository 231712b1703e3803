import Foundation
import PostgresKit
import TestSupport
import Testing

/// The libpq wrapper against a real, throwaway PostgreSQL.
@Suite(.postgresServer, .serialized)
struct PostgresConnectionTests {
    private func connect(_ server: PostgresServer) throws -> PostgresConnection {
        try PostgresConnection(conninfo: server.conninfo(database: try server.createDatabase()))
    }

    @Test func aURIAndAConninfoBothConnect() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let database = try server.createDatabase()
            for conninfo in [server.url(database: database), server.conninfo(database: database)] {
                let connection = try PostgresConnection(conninfo: conninfo)
                #expect(connection.isOpen)
                #expect(try connection.query("SELECT current_database()").rows[0].string(0) == database)
                #expect(connection.serverVersion >= 150000)
            }
        }
    }

    @Test func valuesRoundTripThroughParameters() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try connect(server)
            let id = UUID()
            let when = Date(timeIntervalSince1970: 1_714_039_200.123456)
            let tricky = "quote ' double \" backslash \\ comma , braces {} NULL -- ; DROP TABLE x; é 🎲"
            let row = try connection.query(
                "SELECT $1::text, $2::bigint, $3::float8, $4::boolean, $5::uuid, $6::timestamptz, $7::text IS NULL",
                [
                    tricky, "-9223372036854775808", PostgresText.double(0.1 + 0.2), "t", PostgresText.uuid(id),
                    PostgresText.timestamp(when), nil,
                ]
            ).rows[0]
            #expect(try row.string(0) == tricky)
            #expect(try row.int64(1) == Int64.min)
            #expect(try row.double(2) == 0.1 + 0.2)
            #expect(try row.bool(3))
            #expect(try row.uuid(4) == id)
            #expect(abs(try row.date(5).timeIntervalSince(when)) < 0.000_001)
            #expect(try row.bool(6))
        }
    }

    @Test func arraysRoundTripBitForBit() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try connect(server)
            let doubles = [
                0.1, -1e-300, 1e300, Double.leastNonzeroMagnitude, .greatestFiniteMagnitude, 0, -0.0, 1.0 / 3,
            ]
            let strings = ["", "NULL", "a,b", "{x}", "\"q\"", "back\\slash", " spaced ", "ünï", "null"]
            let row = try connection.query(
                "SELECT $1::float8[], $2::text[], $3::text[], cardinality($3::text[]), ($3::text[])[2] IS NULL",
                [
                    PostgresText.array(doubles), PostgresText.array(strings),
                    PostgresText.array(["x", nil, "y"] as [String?]),
                ]
            ).rows[0]
            let back = try row.doubleArray(0)
            #expect(back.map(\.bitPattern) == doubles.map(\.bitPattern))
            #expect(try row.stringArray(1) == strings)
            #expect(try row.int(3) == 3)
            #expect(try row.bool(4))
        }
    }

    @Test func aTransactionCommitsOrRollsBack() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try connect(server)
            try connection.execute("CREATE TABLE t (v int PRIMARY KEY)")
            try connection.withTransaction { connection throws(PostgresError) in
                try connection.execute("INSERT INTO t VALUES ($1)", ["1"])
            }
            #expect(throws: PostgresError.self) {
                try connection.withTransaction { connection throws(PostgresError) in
                    try connection.execute("INSERT INTO t VALUES ($1)", ["2"])
                    try connection.execute("INSERT INTO t VALUES ($1)", ["1"])  // unique violation
                }
            }
            #expect(try connection.query("SELECT count(*) FROM t").rows[0].int(0) == 1)
            #expect(try connection.execute("DELETE FROM t") == 1)
        }
    }

    @Test func aTransactionWhoseBodySwallowedAnErrorIsNotReportedAsCommitted() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try connect(server)
            try connection.execute("CREATE TABLE t (v int PRIMARY KEY)")
            let error = #expect(throws: PostgresError.self) {
                try connection.withTransaction { connection throws(PostgresError) in
                    try connection.execute("INSERT INTO t VALUES (1)")
                    _ = try? connection.execute("INSERT INTO t VALUES (1)")
                }
            }
            #expect(error?.message.contains("rolled back") == true)
            #expect(try connection.query("SELECT count(*) FROM t").rows[0].int(0) == 0)
        }
    }

    @Test func theSessionSpeaksUTF8AndUTC() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let row = try connect(server).query(
                "SELECT current_setting('TimeZone'), current_setting('client_encoding')"
            ).rows[0]
            #expect(try row.string(0) == "UTC")
            #expect(try row.string(1) == "UTF8")
        }
    }

    @Test func aCheckViolationIsBadData() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try connect(server)
            try connection.execute("CREATE TABLE t (source text NOT NULL CHECK (source IN ('prod', 'synthetic')))")
            let error = #expect(throws: PostgresError.self) {
                try connection.execute("INSERT INTO t VALUES ($1)", ["bogus"])
            }
            #expect(error?.sqlState == .checkViolation)
            #expect(error?.category == .badData)
            #expect(error?.constraint == "t_source_check")
            #expect(error?.description.contains("bogus") == false)
            // The connection is still usable.
            #expect(try connection.query("SELECT 1").rows.count == 1)
        }
    }

    @Test func aValueTheServerQuotesNeverReachesTheDescription() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try connect(server)
            let error = #expect(throws: PostgresError.self) {
                try connection.query("SELECT $1::uuid", ["secret-user@example.com"])
            }
            #expect(error?.sqlState == .invalidTextRepresentation)
            #expect(error?.category == .badData)
            #expect(error?.serverMessage.contains("secret-user@example.com") == true, "the server quotes it")
            #expect(error?.description.contains("secret-user@example.com") == false)
            #expect(error?.message.contains("secret-user@example.com") == false)
            #expect(error?.description.contains("invalid_text_representation") == true)
            #expect(error?.debugDescription.contains("secret-user@example.com") == true)

            try connection.execute("CREATE TABLE t (v text PRIMARY KEY)")
            try connection.execute("INSERT INTO t VALUES ($1)", ["secret-row"])
            let duplicate = #expect(throws: PostgresError.self) {
                try connection.execute("INSERT INTO t VALUES ($1)", ["secret-row"])
            }
            #expect(duplicate?.sqlState == .uniqueViolation)
            #expect(duplicate?.detail?.contains("secret-row") == true, "DETAIL quotes the key")
            #expect(duplicate?.description.contains("secret-row") == false)
            #expect(duplicate?.description.contains("t_pkey") == true)
        }
    }

    @Test func aForcedSerializationFailureIsRetryable() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let database = try server.createDatabase()
            let first = try PostgresConnection(conninfo: server.conninfo(database: database))
            let second = try PostgresConnection(conninfo: server.conninfo(database: database))
            try first.execute("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)")
            try first.execute("INSERT INTO counter VALUES (1, 0)")
            try first.query("BEGIN ISOLATION LEVEL SERIALIZABLE")
            try second.query("BEGIN ISOLATION LEVEL SERIALIZABLE")
            _ = try first.query("SELECT n FROM counter WHERE id = 1")
            _ = try second.query("SELECT n FROM counter WHERE id = 1")
            try first.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
            try first.query("COMMIT")
            let error = #expect(throws: PostgresError.self) {
                try second.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
            }
            #expect(error?.sqlState == .serializationFailure)
            #expect(error?.category == .retryable)
            try second.query("ROLLBACK")
        }
    }

    @Test func aDeadlockIsRetryable() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let database = try server.createDatabase()
            let setup = try PostgresConnection(conninfo: server.conninfo(database: database))
            try setup.execute("CREATE TABLE rows (id int PRIMARY KEY, v int NOT NULL)")
            try setup.execute("INSERT INTO rows VALUES (1, 0), (2, 0)")
            let conninfo = server.conninfo(database: database)
            // Two transactions lock the rows in opposite orders; the server aborts one of them.
            let results = [0, 1].map { order in
                Thread.detachedResult {
                    let connection = try PostgresConnection(conninfo: conninfo)
                    try connection.withTransaction { connection throws(PostgresError) in
                        try connection.execute("UPDATE rows SET v = v + 1 WHERE id = $1", [order == 0 ? "1" : "2"])
                        Thread.sleep(forTimeInterval: 0.3)
                        try connection.execute("UPDATE rows SET v = v + 1 WHERE id = $1", [order == 0 ? "2" : "1"])
                    }
                }
            }.map { $0.wait() }
            let failures = results.compactMap { result -> PostgresError? in
                if case .failure(let error) = result { return error as? PostgresError }
                return nil
            }
            #expect(failures.count == 1)
            #expect(failures.first?.sqlState == .deadlockDetected)
            #expect(failures.first?.category == .retryable)
        }
    }

    @Test func aKilledConnectionIsAConnectionErrorAndReconnectWorks() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let database = try server.createDatabase()
            let connection = try PostgresConnection(conninfo: server.conninfo(database: database))
            #expect(try server.terminateBackends(database: database) == 1)
            let error = #expect(throws: PostgresError.self) { try connection.query("SELECT 1") }
            #expect(error?.category == .connection)
            #expect(!connection.isOpen)
            try connection.reconnect()
            #expect(try connection.query("SELECT 1").rows[0].int(0) == 1)
        }
    }

    @Test func aServerRestartIsAConnectionErrorAndReconnectWorks() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try connect(server)
            try server.restart(mode: .fast)
            let error = #expect(throws: PostgresError.self) { try connection.query("SELECT 1") }
            #expect(error?.category == .connection)
            try connection.reconnect()
            #expect(try connection.query("SELECT 1").rows.count == 1)
        }
    }

    @Test func anUnreachableServerIsAConnectionErrorWithoutThePassword() async throws {
        try await onDedicatedThread {
            let port = try FreePort.allocate()
            for conninfo in [
                "postgresql://banditd:s3cretPa55@127.0.0.1:\(port)/banditd",
                "host=127.0.0.1 port=\(port) user=banditd password=s3cretPa55 dbname=banditd",
                "postgresql://banditd:s3cret%zzPa55@127.0.0.1:\(port)/banditd",  // libpq rejects the encoding
            ] {
                let error = #expect(throws: PostgresError.self) { _ = try PostgresConnection(conninfo: conninfo) }
                #expect(error?.description.contains("s3cret") == false)
                #expect(error?.message.contains("s3cret") == false)
                #expect(PostgresConninfo.redacted(conninfo).contains("s3cret") == false)
            }
        }
    }

    @Test func aConninfoIsRedactedForLogs() {
        #expect(
            PostgresConninfo.redacted("postgresql://u:pw@db.example:6432/banditd?sslmode=require")
                == "host=db.example port=6432 dbname=banditd user=u sslmode=require")
        #expect(PostgresConninfo.redacted("host=/tmp dbname=x password=pw") == "host=/tmp dbname=x")
        #expect(PostgresConninfo.redacted("not a conninfo ' at all") == "<unparsable conninfo>")
    }
}

extension Thread {
    /// Runs `body` on a new thread; `wait()` blocks for its result.
    static func detachedResult<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> PendingResult<T> {
        let pending = PendingResult<T>()
        Thread { pending.finish(Result { try body() }) }.start()
        return pending
    }
}

final class PendingResult<T: Sendable>: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let storage = LockedBox<Result<T, any Error>?>(nil)

    func finish(_ result: Result<T, any Error>) {
        storage.set(result)
        semaphore.signal()
    }

    func wait() -> Result<T, any Error> {
        semaphore.wait()
        return storage.get()!
    }
}

final class LockedBox<Value: Sendable>: Sendable {
    private let lock = NSLock()
    nonisolated(unsafe) private var value: Value

    init(_ value: Value) { self.value = value }

    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}
