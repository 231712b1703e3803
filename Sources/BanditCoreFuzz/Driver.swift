import BanditCore
import Foundation

/// The command line of a normal (non-fuzzer) build.
enum Driver {
    static let usage = """
        usage: BanditCoreFuzz replay FILE...
               BanditCoreFuzz decode SUBJECT FILE...
               BanditCoreFuzz seed FIXTURES_DIR CORPUS_DIR
               BanditCoreFuzz bench [SECONDS [CASE]]
               BanditCoreFuzz bench-count COUNT [CASE]
        """

    static func main(_ arguments: [String]) -> Int32 {
        guard let command = arguments.first else {
            printError(usage)
            return 2
        }
        let rest = Array(arguments.dropFirst())
        switch command {
        case "replay" where !rest.isEmpty:
            return replay(rest)
        case "decode" where rest.count >= 2:
            return decode(subject: rest[0], files: Array(rest.dropFirst()))
        case "seed" where rest.count == 2:
            return seed(fixtures: rest[0], corpus: rest[1])
        case "bench-count" where (1...2).contains(rest.count):
            Bench.runFixed(count: Int(rest[0]) ?? 1_000_000, only: rest.count == 2 ? rest[1] : nil)
            return 0
        case "bench" where rest.count <= 2:
            Bench.run(seconds: rest.first.flatMap(Double.init) ?? 2, only: rest.count == 2 ? rest[1] : nil)
            return 0
        default:
            printError(usage)
            return 2
        }
    }

    static func replay(_ files: [String]) -> Int32 {
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                printError("\(file): cannot read")
                return 1
            }
            let result = data.withUnsafeBytes { FuzzHarness.run($0) }
            print("\(file): \(describe(result))")
        }
        return 0
    }

    static func decode(subject: String, files: [String]) -> Int32 {
        var status: Int32 = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                printError("\(file): cannot read")
                return 1
            }
            let result = FuzzHarness.decoder.decode(subject: subject, headers: [:], body: data, now: Date())
            if case .failure = result { status = 1 }
            print("\(file): \(describe(result))")
        }
        return status
    }

    /// Writes each `{subject}[.variant].json` fixture as a fuzz seed: selector byte + body.
    static func seed(fixtures: String, corpus: String) -> Int32 {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: fixtures) else {
            printError("\(fixtures): cannot list")
            return 1
        }
        try? manager.createDirectory(atPath: corpus, withIntermediateDirectories: true)
        var written = 0
        for name in names.sorted() where name.hasSuffix(".json") {
            let subject = EventSubject.allCases.filter { name.hasPrefix($0.rawValue + ".") }
                .max { $0.rawValue.count < $1.rawValue.count }
            guard let subject, let body = manager.contents(atPath: "\(fixtures)/\(name)") else { continue }
            let seed = Data([FuzzHarness.selector(for: subject)]) + body
            guard manager.createFile(atPath: "\(corpus)/seed-\(name)", contents: seed) else {
                printError("\(corpus): cannot write")
                return 1
            }
            written += 1
        }
        print("wrote \(written) seeds to \(corpus)")
        return 0
    }

    static func describe(_ result: Result<Event, Rejection>?) -> String {
        switch result {
        case nil: "empty input, skipped"
        case .success(let event)?: "event \(event.subject.rawValue) \(event.eventID.uuidString.lowercased())"
        case .failure(let rejection)?: "rejected \(rejection.reason.rawValue): \(rejection.detail)"
        }
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
