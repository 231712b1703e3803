import ArgumentParser
import BanditConfig
import BanditStore
import PostgresKit

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the database migrations (forward-only, idempotent, safe when several daemons start at once)."
    )

    @OptionGroup var options: ConfigurationOptions

    func run() throws {
        let configuration = try options.load()
        do {
            let connection = try PostgresConnection(conninfo: configuration.postgres.url)
            defer { connection.close() }
            let applied = try Migrator().migrate(on: connection)
            if applied.isEmpty {
                CommandOutput.print("database is up to date")
            }
            for migration in applied {
                CommandOutput.print("applied migration \(migration.version): \(migration.name)")
            }
        } catch {
            CommandOutput.fail("\(error)")
        }
    }
}
