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

/// `description` and `message` go to logs: no value from the data in them (postgres-nio's
/// `PSQLError` pattern); the server's own words stay in `debugDescription`.
struct PostgresErrorTextTests {
    @Test(arguments: [
        ("22P02", #"invalid input syntax for type uuid: "alice@example.com""#, "invalid_text_representation"),
        ("22003", "value \"31337000000\" is out of range for type integer", "numeric_value_out_of_range"),
        ("22001", "value too long for type character varying(3): alice@example.com", "string_data_right_truncation"),
        ("P0001", "user alice@example.com 31337000000", "raise_exception"),
        ("XX001", "alice@example.com 31337000000", "server error of class XX"),
    ])
    func aMessageThatCanQuoteAValueIsWithheld(code: String, serverText: String, condition: String) {
        let error = PostgresError(operation: "apply", sqlState: SQLState(rawValue: code), message: serverText)
        for text in [error.description, error.message] {
            #expect(!text.contains("alice@example.com"), "\(text)")
            #expect(!text.contains("31337000000"), "\(text)")
            #expect(text.contains(condition), "\(text)")
        }
        #expect(error.description.hasPrefix("PostgreSQL apply failed [SQLSTATE \(code)]: "))
        #expect(error.debugDescription.contains(serverText))
        #expect("\(error)" == error.description, "interpolation, as in log metadata, uses description")
    }

    @Test(arguments: [
        ("23505", #"duplicate key value violates unique constraint "decisions_pkey""#),
        ("42P01", #"relation "nope" does not exist"#), ("40001", "could not serialize access"),
        ("57014", "canceling statement due to statement timeout"),
        ("28P01", #"password authentication failed for user "banditd""#),
    ])
    func aMessageThatNamesOnlyObjectsIsKept(code: String, serverText: String) {
        let error = PostgresError(operation: "query", sqlState: SQLState(rawValue: code), message: serverText)
        #expect(error.message == serverText)
        #expect(error.description == "PostgreSQL query failed [SQLSTATE \(code)]: \(serverText)")
    }

    @Test func libpqsOwnTextIsKept() {
        let error = PostgresError(
            operation: "connect", sqlState: nil, message: "connection refused", connectionLost: true)
        #expect(error.description == "PostgreSQL connect failed: connection refused")
    }

    @Test func detailAndHintAreOnlyInTheDebugDescription() {
        let error = PostgresError(
            operation: "apply", sqlState: .uniqueViolation,
            message: #"duplicate key value violates unique constraint "t_pkey""#,
            detail: "Key (user_id)=(alice@example.com) already exists.", hint: "a hint", constraint: "t_pkey")
        #expect(!error.description.contains("alice@example.com"))
        #expect(
            error.debugDescription
                == #"PostgreSQL apply failed [SQLSTATE 23505]: duplicate key value violates unique constraint "t_pkey"; "#
                + "detail: Key (user_id)=(alice@example.com) already exists.; hint: a hint; constraint: t_pkey")
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
