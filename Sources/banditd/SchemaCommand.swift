import ArgumentParser
import BanditCore
import Foundation

/// `banditd schema export`: the JSON Schemas producers validate against before they publish.
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "The JSON Schemas (draft 2020-12) of the five payloads, for producers.",
        subcommands: [Export.self]
    )

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Write one JSON Schema per subject ({subject}.schema.json), generated from the decoder's own field rules."
        )

        @Option(help: "Directory to write into (created if missing).")
        var out = "schemas"

        func run() throws {
            let directory = URL(fileURLWithPath: out, isDirectory: true)
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                for schema in EventSchema.all {
                    let file = directory.appendingPathComponent(schema.fileName)
                    try Data(schema.text.utf8).write(to: file, options: .atomic)
                    CommandOutput.print(file.path)
                }
            } catch {
                CommandOutput.fail("cannot write the schemas to \(out): \(error.localizedDescription)")
            }
        }
    }
}
