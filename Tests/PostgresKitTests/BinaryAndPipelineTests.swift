import Foundation
import PostgresKit
import TestSupport
import Testing

/// Binary parameters and results, and pipeline mode, against a real PostgreSQL.
@Suite(.postgresServer, .serialized)
struct BinaryAndPipelineTests {
    private func connect(_ server: PostgresServer) throws -> PostgresConnection {
        try PostgresConnection(conninfo: server.conninfo(database: try server.createDatabase()))
    }

    @Test func scalarsRoundTripInBinary() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try connect(server)
            let id = UUID()
            let when = Date(timeIntervalSince1970: 1_714_039_200.123456)
            let tricky = "quote ' backslash \\ braces {} NULL é 🎲"
            let result = try connection.query(
                "SELECT $1::text, $2::bigint, $3::float8, $4::boolean, $5::uuid, $6::timestamptz, $7::bytea, $8::int",
                values: [
                    .text(tricky), .int64(.min), .double(0.1 + 0.2), .bool(true), .uuid(id), .timestamp(when),
                    .bytea([0, 255, 10]), .int32(-7),
                ])
            #expect(result.rowCount == 1)
            #expect(try result.text(0, 0) == tricky)
            #expect(try result.int64(0, 1) == .min)
            #expect(try result.double(0, 2) == 0.1 + 0.2)  // bit for bit
            #expect(try result.bool(0, 3))
            #expect(try result.uuid(0, 4) == id)
            #expect(abs(try result.timestamp(0, 5).timeIntervalSince(when)) < 1e-6)
            #expect(try result.bytes(0, 6) == [0, 255, 10])
            #expect(try result.int64(0, 7) == -7)
        }
    }

    @Test func arraysRoundTripInBinaryWithNullsAndEmptiness() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try connect(server)
            let doubles: [Double] = [0.1, -2.5e300, Double.leastNonzeroMagnitude, -0.0, 1.0 / 3]
            let result = try connection.query(
                """
                SELECT $1::float8[], $2::text[], $3::float8[], cardinality($4::uuid[]), array_position($5::text[], NULL),
                       $6::bigint[] = ARRAY[1, -2]::bigint[], $7::boolean[] = ARRAY[true, NULL, false],
                       cardinality($8::timestamptz[])
                """,
                values: [
                    .doubleArray(doubles), .textArray(["a,b", "", "{x}", "NULL"]), .doubleArray([]),
                    .uuidArray([UUID(), UUID()]), .optionalTextArray(["x", nil]), .int64Array([1, -2]),
                    .optionalBoolArray([true, nil, false]), .timestampArray([Date()]),
                ])
            let read = try result.doubleArray(0, 0)
            #expect(read.map(\.bitPattern) == doubles.map(\.bitPattern))
            #expect(try result.textArray(0, 1) == ["a,b", "", "{x}", "NULL"])
            #expect(try result.doubleArray(0, 2).isEmpty)
            #expect(try result.int64(0, 3) == 2)
            #expect(try result.int64(0, 4) == 2)
            #expect(try result.bool(0, 5))
            #expect(try result.bool(0, 6))
            #expect(try result.int64(0, 7) == 1)
        }
    }

    @Test func readingTheWrongTypeIsAClearError() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try connect(server)
            let result = try connection.query("SELECT 1.5::float8, NULL::text", values: [])
            #expect(throws: PostgresError.self) { try result.uuid(0, 0) }
            #expect(throws: PostgresError.self) { try result.text(0, 1) }
            #expect(try result.optionalText(0, 1) == nil)
            #expect(throws: PostgresError.self) { try result.double(1, 0) }
        }
    }

    @Test func aPipelineReturnsEveryResultInOrder() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try connect(server)
            try connection.query("CREATE TABLE t (id bigint PRIMARY KEY, v float8[])")
            let results = try connection.pipeline([
                PostgresStatement("BEGIN"),
                PostgresStatement(
                    "INSERT INTO t SELECT * FROM unnest($1::bigint[]) AS i, LATERAL (SELECT $2::float8[]) v RETURNING id",
                    [.int64Array([1, 2, 3]), .doubleArray([1, 2])]),
                PostgresStatement("SELECT ctid, v FROM t WHERE id = $1 FOR UPDATE", [.int64(2)]),
                PostgresStatement("COMMIT"),
            ])
            #expect(results.count == 4)
            #expect(results[1].rowCount == 3)
            #expect(try results[2].doubleArray(0, 1) == [1, 2])
            let tid = try results[2].tid(0, 0)
            let updated = try connection.query(
                "UPDATE t SET v = $2::float8[] WHERE ctid = ANY($1::tid[]) RETURNING id",
                values: [.tidArray([tid]), .doubleArray([9])])
            #expect(try updated.int64(0, 0) == 2)
            #expect(!connection.inTransaction)
        }
    }

    @Test func aFailureInAPipelineIsThrownAndTheConnectionStaysUsable() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try connect(server)
            try connection.query("CREATE TABLE t (id bigint PRIMARY KEY CHECK (id > 0))")
            let error = #expect(throws: PostgresError.self) {
                try connection.pipeline([
                    PostgresStatement("BEGIN"),
                    PostgresStatement("INSERT INTO t VALUES ($1)", [.int64(1)]),
                    PostgresStatement("INSERT INTO t VALUES ($1)", [.int64(-1)]),
                    PostgresStatement("INSERT INTO t VALUES ($1)", [.int64(2)]),
                ])
            }
            #expect(error?.sqlState == .checkViolation)
            #expect(error?.category == .badData)
            #expect(connection.inTransaction)
            try connection.query("ROLLBACK")
            #expect(try connection.query("SELECT count(*) FROM t").rows[0].int(0) == 0)
            // And pipelines work again.
            let results = try connection.pipeline([PostgresStatement("SELECT $1::bigint", [.int64(5)])])
            #expect(try results[0].int64(0, 0) == 5)
        }
    }

    @Test func aLostConnectionInAPipelineIsAConnectionError() async throws {
        let server = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let database = try server.createDatabase()
            let connection = try PostgresConnection(conninfo: server.conninfo(database: database))
            try server.terminateBackends(database: database)
            let error = #expect(throws: PostgresError.self) {
                try connection.pipeline([PostgresStatement("SELECT 1"), PostgresStatement("SELECT 2")])
            }
            #expect(error?.category == .connection)
        }
    }
}
