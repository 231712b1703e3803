import Foundation
import PostgresKit

/// A migration this run applied.
public struct AppliedMigration: Sendable, Equatable {
    public let version: Int
    public let name: String
}

/// Applies `Migration.all` in order, each in its own transaction, recorded in
/// `schema_migrations`. A session advisory lock serializes daemons that start at once: the second
/// waits, then finds nothing left to do. Forward-only. A database with a version this binary
/// does not know is left alone (it comes from a newer banditd; migrations only add), a recorded
/// migration whose text differs is an error.
public struct Migrator: Sendable {
    /// `pg_advisory_lock` key: "banditd" in ASCII, fixed so every version of banditd agrees.
    public static let advisoryLockKey: Int64 = 0x62_61_6e_64_69_74_64

    public let migrations: [Migration]

    public init(migrations: [Migration] = Migration.all) {
        self.migrations = migrations
    }

    @discardableResult
    public func migrate(on connection: PostgresConnection) throws(PostgresError) -> [AppliedMigration] {
        try connection.query("SELECT pg_advisory_lock($1)", [String(Self.advisoryLockKey)])
        defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [String(Self.advisoryLockKey)]) }
        try connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        var recorded: [Int: String] = [:]
        for row in try connection.query("SELECT version, checksum FROM schema_migrations").rows {
            recorded[try row.int(0)] = try row.string(1)
        }
        // Versions this binary does not know come from a newer banditd. Migrations only add
        // (CONTRACT section 4: columns may be added, not renamed), so an older daemon keeps
        // working during a rolling upgrade; `newerVersions` lets the caller say so.
        var applied: [AppliedMigration] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) {
            if let checksum = recorded[migration.version] {
                guard checksum == migration.checksum else {
                    throw PostgresError(
                        operation: "migrate", sqlState: nil,
                        message:
                            "migration \(migration.version) (\(migration.name)) was applied with different SQL (checksum \(checksum), this banditd has \(migration.checksum))"
                    )
                }
                continue
            }
            try connection.withTransaction { connection throws(PostgresError) in
                try connection.executeScript(migration.sql)
                try connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [String(migration.version), migration.name, migration.checksum])
            }
            applied.append(AppliedMigration(version: migration.version, name: migration.name))
        }
        return applied
    }
}
