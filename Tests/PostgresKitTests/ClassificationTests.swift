import PostgresKit
import Testing

struct SQLStateClassificationTests {
    @Test(arguments: [
        ("40001", PostgresError.Category.retryable), ("40P01", .retryable),
        ("08000", .connection), ("08006", .connection), ("08001", .connection), ("57P01", .connection),
        ("57P02", .connection), ("57P03", .connection), ("53300", .connection),
        ("23505", .badData), ("23514", .badData), ("23502", .badData), ("22P02", .badData), ("22003", .badData),
        ("42P01", .other), ("28P01", .other), ("42601", .other), ("XX000", .other),
    ])
    func sqlStatesAreClassified(code: String, expected: PostgresError.Category) {
        #expect(PostgresError.Category(sqlState: SQLState(rawValue: code), connectionLost: false) == expected)
    }

    @Test func aLostConnectionIsAConnectionErrorWhateverTheCode() {
        #expect(PostgresError.Category(sqlState: nil, connectionLost: true) == .connection)
        #expect(PostgresError.Category(sqlState: .checkViolation, connectionLost: true) == .connection)
    }

    @Test func noCodeAndAnOpenConnectionIsOther() {
        #expect(PostgresError.Category(sqlState: nil, connectionLost: false) == .other)
    }
}

struct PostgresTextTests {
    @Test func arrayLiteralsQuoteEveryString() {
        #expect(
            PostgresText.array(["a", "b c", "d\"e", "f\\g", "NULL", ""]) == #"{"a","b c","d\"e","f\\g","NULL",""}"#)
        #expect(PostgresText.array(["x", nil] as [String?]) == #"{"x",NULL}"#)
        #expect(PostgresText.array([1.5, -0.0, .infinity, .nan]) == "{1.5,-0.0,Infinity,NaN}")
        #expect(PostgresText.array([Int64.min, 0]) == "{-9223372036854775808,0}")
        #expect(PostgresText.array([true, nil, false] as [Bool?]) == "{t,NULL,f}")
    }

    @Test func arrayLiteralsParseBack() {
        #expect(
            PostgresText.arrayElements(#"{"a,b",NULL,"NULL",plain,"q\"x"}"#) == ["a,b", nil, "NULL", "plain", "q\"x"])
        #expect(PostgresText.doubleArray("{1,2.5,-3e-05,NaN}")?.count == 4)
        #expect(PostgresText.doubleArray("{}") == [])
        #expect(PostgresText.doubleArray("{1,{2}}") == nil)
        #expect(PostgresText.doubleArray("1,2") == nil)
    }

    @Test func timestampsParseInTheServersFormat() throws {
        let date = try #require(PostgresText.timestamp("2026-04-25 10:00:00.5+00"))
        #expect(date.timeIntervalSince1970 == 1_777_111_200.5)
        #expect(PostgresText.timestamp("2026-04-25 12:00:00+02") == PostgresText.timestamp("2026-04-25 10:00:00+00"))
    }

    @Test func sqlCanOnlyBeALiteral() {
        let sql: SQL = "SELECT $1"
        #expect(sql.text == "SELECT $1")
        #expect(SQL(unsafeRaw: "SELECT 2").text == "SELECT 2")
    }
}
