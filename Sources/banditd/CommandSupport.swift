import ArgumentParser
import BanditConfig
import Foundation
import Logging

/// `--config FILE`, shared by every command. Without it the built-in defaults (equal to the
/// shipped `config/banditd.json`) apply and the environment alone configures the daemon.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (JSON; see config/README.md). Environment variables override it.")
    var config: String?

    /// Loads the configuration or exits with status 78 (EX_CONFIG), naming the key at fault:
    /// systemd's unit does not restart on 78, since retrying cannot fix a bad value.
    func load() throws -> BanditdConfiguration {
        do {
            return try ConfigurationLoader.load(file: config)
        } catch {
            CommandOutput.fail("\(error)", exitCode: ExitCode.configurationError)
        }
    }
}

extension ExitCode {
    /// sysexits.h EX_CONFIG.
    static let configurationError = ExitCode(78)
}

enum CommandOutput {
    /// Prints `banditd: error: …` to stderr and exits.
    static func fail(_ message: String, exitCode: ExitCode = .failure) -> Never {
        FileHandle.standardError.write(Data("banditd: error: \(message)\n".utf8))
        Foundation.exit(exitCode.rawValue)
    }

    static func print(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// Bootstraps swift-log with the JSON handler once per process (only `main` bootstraps).
enum LoggingSetup {
    static func bootstrap(level: LogLevel) -> Logger {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: Logger.Level(level)) }
        return Logger(label: "banditd")
    }
}
