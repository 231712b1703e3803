import PostgresKit

/// A background job's PostgreSQL session: opened on first use with the job's timeouts, dropped
/// after a failure (the next use opens a fresh one), closed when the job ends. Used only by the
/// job's own thread.
final class JobSession {
    private let databaseURL: String
    private let statementTimeout: Duration
    /// Also bounds waits for row locks when set (jobs that write rows the workers write).
    private let lockTimeout: Duration?
    private var connection: PostgresConnection?

    init(databaseURL: String, statementTimeout: Duration, lockTimeout: Duration? = nil) {
        self.databaseURL = databaseURL
        self.statementTimeout = statementTimeout
        self.lockTimeout = lockTimeout
    }

    deinit {
        connection?.close()
    }

    /// The open session, or a new one with the timeouts set.
    func connected() throws(PostgresError) -> PostgresConnection {
        if let connection { return connection }
        let opened = try PostgresConnection(conninfo: databaseURL)
        if let lockTimeout {
            try opened.query(
                "SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false)",
                ["\(statementTimeout.milliseconds)ms", "\(lockTimeout.milliseconds)ms"])
        } else {
            try opened.query(
                "SELECT set_config('statement_timeout', $1, false)", ["\(statementTimeout.milliseconds)ms"])
        }
        connection = opened
        return opened
    }

    /// Closes the session (after a failure, or when the job ends); the next use opens a new one.
    func reset() {
        connection?.close()
        connection = nil
    }
}
