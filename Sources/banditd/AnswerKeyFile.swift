import BanditSimulation
import Foundation

/// The answer key of `banditd simulate --out`, or exit 1 naming the file.
enum AnswerKeyFile {
    static func load(_ path: String) -> AnswerKey {
        do {
            return try JSONDecoder().decode(AnswerKey.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            CommandOutput.fail("cannot read the answer key \(path): \(error)")
        }
    }
}
