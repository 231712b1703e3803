import CLibPQ
import Foundation

/// One libpq connection (`PGconn *`). Not Sendable: libpq connections must not be shared across
/// threads, so each worker owns one.
public final class PostgresConnection {
    private var handle: OpaquePointer?
    /// Statements prepared on this session by `pipeline`, by SQL text: planned once, not per batch.
    private var prepared: [String: String] = [:]
    /// Names are never reused on a session, whatever became of an earlier prepare.
    private var preparedCount = 0
    private let conninfo: String

    /// Connects with a conninfo string (`host=… dbname=…`) or a URI (`postgresql://…`).
    /// The error never contains the password, even where libpq would echo part of the input.
    public init(conninfo: String) throws(PostgresError) {
        self.conninfo = conninfo
        handle = try Self.connect(conninfo)
    }

    deinit { close() }

    /// Closes the connection. Idempotent.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        prepared = [:]
        preparedCount = 0
    }

    public var isOpen: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// Drops the connection and opens a new one with the same conninfo.
    public func reconnect() throws(PostgresError) {
        close()
        prepared = [:]
        handle = try Self.connect(conninfo)
    }

    /// The server's version number, e.g. 150018.
    public var serverVersion: Int { handle.map { Int(PQserverVersion($0)) } ?? 0 }

    /// Runs one statement with `$1…$n` parameters sent separately (text format; nil is NULL)
    /// and returns its rows.
    @discardableResult
    public func query(_ sql: SQL, _ binds: [String?] = []) throws(PostgresError) -> PostgresRows {
        let handle = try openHandle(for: "query")
        let result = Self.withCStrings(binds) { values in
            PQexecParams(handle, sql.text, Int32(values.count), nil, values, nil, nil, 0)
        }
        return try consume(result, operation: "query")
    }

    /// Runs one statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ sql: SQL, _ binds: [String?] = []) throws(PostgresError) -> Int {
        try query(sql, binds).affectedRows
    }

    /// Runs one statement with binary parameters and returns its result in binary format.
    @discardableResult
    public func query(_ sql: SQL, values: [PostgresValue]) throws(PostgresError) -> PostgresResult {
        let handle = try openHandle(for: "query")
        let result = Self.withParameters(values) { count, types, pointers, lengths, formats in
            PQexecParams(handle, sql.text, count, types, pointers, lengths, formats, 1)
        }
        return try consumeBinary(result, operation: "query")
    }

    /// Sends every statement, then one sync, and reads the results in order: one round trip for
    /// the lot (libpq pipeline mode). Statements run in order; the first failure aborts the rest
    /// up to the sync, and is thrown once every result has been read. Inside an explicit
    /// transaction (a `BEGIN` statement) a failure leaves it failed: roll it back.
    ///
    /// The connection is in blocking mode: the server may start sending results while we still
    /// send. Keep statements whose results are large last, so that only the sync is still to be
    /// sent when they are produced.
    public func pipeline(_ statements: [PostgresStatement]) throws(PostgresError) -> [PostgresResult] {
        guard !statements.isEmpty else { return [] }
        let handle = try openHandle(for: "pipeline")
        guard PQenterPipelineMode(handle) == 1 else {
            throw PostgresError(
                operation: "pipeline", sqlState: nil, message: Self.libpqMessage(PQerrorMessage(handle)),
                connectionLost: !isOpen)
        }
        defer { _ = PQexitPipelineMode(handle) }
        // Each statement is prepared on the session the first time it is seen (in the same
        // pipeline), then executed by name: the server parses and plans it once per session.
        var preparing: [Int: String] = [:]
        var preparingByText: [String: String] = [:]
        for (index, statement) in statements.enumerated() {
            let name: String
            if let known = prepared[statement.sql.text] ?? preparingByText[statement.sql.text] {
                name = known
            } else {
                preparedCount += 1
                name = "banditd_\(preparedCount)"
                preparingByText[statement.sql.text] = name
                let types = statement.values.map { Oid($0.type.rawValue) }
                guard PQsendPrepare(handle, name, statement.sql.text, Int32(types.count), types) == 1 else {
                    throw lostInPipeline(handle)
                }
                preparing[index] = name
            }
            let sent = Self.withParameters(statement.values) { count, _, pointers, lengths, formats in
                PQsendQueryPrepared(handle, name, count, pointers, lengths, formats, 1)
            }
            guard sent == 1 else { throw lostInPipeline(handle) }
        }
        guard PQpipelineSync(handle) == 1 else { throw lostInPipeline(handle) }

        var results: [PostgresResult] = []
        results.reserveCapacity(statements.count)
        var firstError: PostgresError?
        /// Reads one command's results up to its terminating NULL; returns its status and result.
        func next() throws(PostgresError) -> OpaquePointer {
            guard let result = PQgetResult(handle) else { throw lostInPipeline(handle) }
            // Each command's results end with a NULL.
            while let extra = PQgetResult(handle) {
                let status = PQresultStatus(extra)
                PQclear(extra)
                if status == PGRES_PIPELINE_SYNC {
                    PQclear(result)
                    throw PostgresError(
                        operation: "pipeline", sqlState: nil, message: "the pipeline ended before every result came",
                        connectionLost: !isOpen)
                }
            }
            return result
        }
        for index in statements.indices {
            if let name = preparing[index] {
                let result = try next()
                let status = PQresultStatus(result)
                if status == PGRES_COMMAND_OK {
                    prepared[statements[index].sql.text] = name
                    PQclear(result)
                } else if status == PGRES_PIPELINE_ABORTED {
                    PQclear(result)
                } else if firstError == nil {
                    firstError = error(from: result, operation: "prepare")
                } else {
                    PQclear(result)
                }
            }
            let result = try next()
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
                results.append(PostgresResult(owning: result))
            case PGRES_PIPELINE_ABORTED:
                PQclear(result)
            default:
                if firstError == nil {
                    firstError = error(from: result, operation: "query")
                } else {
                    PQclear(result)
                }
            }
        }
        guard let sync = PQgetResult(handle) else { throw lostInPipeline(handle) }
        let synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC
        PQclear(sync)
        guard synced else {
            throw PostgresError(
                operation: "pipeline", sqlState: nil, message: "expected the end of the pipeline",
                connectionLost: !isOpen)
        }
        if let firstError { throw firstError }
        return results
    }

    /// Whether the session is inside a transaction block (also a failed one).
    public var inTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// Runs a script of several statements without parameters (`PQexec`): migrations only.
    public func executeScript(_ sql: SQL) throws(PostgresError) {
        let handle = try openHandle(for: "script")
        _ = try consume(PQexec(handle, sql.text), operation: "script")
    }

    public enum IsolationLevel: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    /// Runs `body` inside BEGIN … COMMIT; any error rolls back and is rethrown. A failed COMMIT
    /// (e.g. a serialization failure at commit) is thrown too: nothing was committed then.
    @discardableResult
    public func withTransaction<T>(
        isolation: IsolationLevel = .readCommitted,
        _ body: (PostgresConnection) throws(PostgresError) -> T
    ) throws(PostgresError) -> T {
        switch isolation {
        case .readCommitted: try query("BEGIN")
        case .repeatableRead: try query("BEGIN ISOLATION LEVEL REPEATABLE READ")
        case .serializable: try query("BEGIN ISOLATION LEVEL SERIALIZABLE")
        }
        let value: T
        do {
            value = try body(self)
        } catch {
            if isOpen { _ = try? query("ROLLBACK") }
            throw error
        }
        // A statement failed inside `body` and `body` swallowed the error: COMMIT would quietly
        // roll back, so say so.
        if let handle, PQtransactionStatus(handle) == PQTRANS_INERROR {
            _ = try? query("ROLLBACK")
            throw PostgresError(
                operation: "commit", sqlState: nil,
                message: "a statement of the transaction failed and its error was not rethrown; rolled back")
        }
        do {
            try query("COMMIT")
        } catch {
            if isOpen { _ = try? query("ROLLBACK") }
            throw error
        }
        return value
    }

    // MARK: - libpq plumbing

    private static func connect(_ conninfo: String) throws(PostgresError) -> OpaquePointer {
        guard let connection = PQconnectdb(conninfo) else {
            throw PostgresError(operation: "connect", sqlState: nil, message: "out of memory", connectionLost: true)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let text = PostgresConninfo.scrubbed(libpqMessage(PQerrorMessage(connection)), conninfo: conninfo)
            PQfinish(connection)
            // Authentication failures are not worth a reconnect loop: surface them as they are.
            let refusedCredentials =
                text.contains("password authentication failed") || text.contains("no pg_hba.conf entry")
            throw PostgresError(
                operation: "connect", sqlState: refusedCredentials ? .invalidPassword : nil, message: text,
                connectionLost: !refusedCredentials)
        }
        // NOTICEs (e.g. "relation already exists, skipping") would go to stderr otherwise.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        // The text formats we read and write: UTF-8, ISO dates, UTC.
        let settings = PQexec(connection, "SET client_encoding = 'UTF8'; SET DateStyle = 'ISO'; SET TimeZone = 'UTC'")
        let settingsOK = PQresultStatus(settings) == PGRES_COMMAND_OK
        PQclear(settings)
        guard settingsOK else {
            let text = libpqMessage(PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresError(operation: "connect", sqlState: nil, message: text, connectionLost: true)
        }
        return connection
    }

    private func openHandle(for operation: String) throws(PostgresError) -> OpaquePointer {
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(
                operation: operation, sqlState: nil, message: "no connection to the server", connectionLost: true)
        }
        return handle
    }

    /// Takes ownership of `result`, clears it, and returns its rows or throws its error.
    private func consume(_ result: OpaquePointer?, operation: String) throws(PostgresError) -> PostgresRows {
        guard let result else {
            let message = handle.map { Self.libpqMessage(PQerrorMessage($0)) } ?? "no result"
            throw PostgresError(
                operation: operation, sqlState: nil, message: message, connectionLost: !isOpen)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(copying: result)
        default:
            func field(_ code: Int32) -> String? {
                PQresultErrorField(result, code).map { String(cString: $0) }
            }
            let sqlState = field(banditd_PG_DIAG_SQLSTATE).map(SQLState.init(rawValue:))
            let message =
                field(banditd_PG_DIAG_MESSAGE_PRIMARY)
                ?? handle.map { Self.libpqMessage(PQerrorMessage($0)) } ?? "unknown error"
            throw PostgresError(
                operation: operation, sqlState: sqlState, message: message,
                detail: field(banditd_PG_DIAG_MESSAGE_DETAIL), hint: field(banditd_PG_DIAG_MESSAGE_HINT),
                constraint: field(banditd_PG_DIAG_CONSTRAINT_NAME), connectionLost: !isOpen)
        }
    }

    private func consumeBinary(_ result: OpaquePointer?, operation: String) throws(PostgresError) -> PostgresResult {
        guard let result else {
            let message = handle.map { Self.libpqMessage(PQerrorMessage($0)) } ?? "no result"
            throw PostgresError(operation: operation, sqlState: nil, message: message, connectionLost: !isOpen)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresResult(owning: result)
        default:
            throw error(from: result, operation: operation)
        }
    }

    /// The error of a failed result (which it clears).
    private func error(from result: OpaquePointer, operation: String) -> PostgresError {
        defer { PQclear(result) }
        func field(_ code: Int32) -> String? {
            PQresultErrorField(result, code).map { String(cString: $0) }
        }
        let sqlState = field(banditd_PG_DIAG_SQLSTATE).map(SQLState.init(rawValue:))
        let message =
            field(banditd_PG_DIAG_MESSAGE_PRIMARY)
            ?? handle.map { Self.libpqMessage(PQerrorMessage($0)) } ?? "unknown error"
        return PostgresError(
            operation: operation, sqlState: sqlState, message: message,
            detail: field(banditd_PG_DIAG_MESSAGE_DETAIL), hint: field(banditd_PG_DIAG_MESSAGE_HINT),
            constraint: field(banditd_PG_DIAG_CONSTRAINT_NAME), connectionLost: !isOpen)
    }

    private func lostInPipeline(_ handle: OpaquePointer) -> PostgresError {
        PostgresError(
            operation: "pipeline", sqlState: nil, message: Self.libpqMessage(PQerrorMessage(handle)),
            connectionLost: true)
    }

    /// Binary parameters as libpq takes them: types, value pointers, lengths, formats (all 1).
    private static func withParameters<R>(
        _ values: [PostgresValue],
        _ body: (
            Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?,
            UnsafePointer<Int32>?
        ) -> R
    ) -> R {
        let types = values.map { Oid($0.type.rawValue) }
        let lengths = values.map { Int32($0.bytes?.count ?? 0) }
        let formats = [Int32](repeating: 1, count: values.count)
        // The bytes stay alive in `values` for the call; libpq copies them before returning.
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(values.count)
        func collect(_ index: Int) -> R {
            if index == values.count {
                return pointers.withUnsafeBufferPointer { pointerBuffer in
                    body(Int32(values.count), types, pointerBuffer.baseAddress, lengths, formats)
                }
            }
            guard let bytes = values[index].bytes else {
                pointers.append(nil)
                return collect(index + 1)
            }
            return bytes.withUnsafeBufferPointer { buffer in
                // A zero-length value still needs a non-NULL pointer (NULL means SQL NULL).
                pointers.append(
                    UnsafeRawPointer(buffer.baseAddress ?? ("" as StaticString).utf8Start).assumingMemoryBound(
                        to: CChar.self))
                return collect(index + 1)
            }
        }
        return collect(0)
    }

    static func libpqMessage(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "" }
        return String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func withCStrings<R>(
        _ values: [String?], _ body: ([UnsafePointer<CChar>?]) -> R
    ) -> R {
        let pointers: [UnsafeMutablePointer<CChar>?] = values.map { $0.map { strdup($0) } ?? nil }
        defer { pointers.forEach { free($0) } }
        return body(pointers.map { $0.map { UnsafePointer($0) } })
    }
}
