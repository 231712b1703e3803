import ArgumentParser
import BanditConfig
import BanditOperations
import Foundation
import Logging
import NATSKit

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract:
            "Run the daemon: connect, migrate, ensure streams, bind both consumers; SIGTERM or SIGINT stops it.",
        discussion: """
            SIGTERM and SIGINT stop it gracefully (exit 0). SIGHUP, SIGUSR1 and SIGUSR2 are logged and \
            ignored: nothing is re-read, restart to apply a new configuration. SIGABRT (systemd's \
            watchdog) and SIGQUIT end it at once, by that signal. Exit status 78: a configuration error \
            that a restart cannot fix; 1: any other failure.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        AllocatorTuning.apply(environment: ProcessInfo.processInfo.environment)
        let configuration = try options.load()
        let logger = LoggingSetup.bootstrap(level: configuration.logLevel)
        // SIGABRT (systemd's watchdog) and SIGQUIT end the process promptly; SIGHUP, SIGUSR1 and
        // SIGUSR2 are logged and ignored. See README, "Signals and exit codes".
        AbortSignalHandler.install(logger: logger.label, environment: ProcessInfo.processInfo.environment)
        let ignoredSignals = IgnoredSignals(logger: logger)
        defer { withExtendedLifetime(ignoredSignals) {} }
        do {
            // A NATS URL cnats cannot use fails before anything else (cnats would call it "no server").
            for server in configuration.nats.servers {
                do throws(NATSServerURL.Malformed) { _ = try NATSServerURL(server) } catch {
                    throw ConfigurationFailure("NATS_URL: \(error)")
                }
            }
            try await Daemon(configuration: configuration, logger: logger).run()
        } catch {
            let exitCode = ConfigurationFailure.exitCode(for: error)
            if exitCode == .configurationError {
                logger.critical(
                    "configuration error: exiting with status 78, a restart cannot help",
                    metadata: ["error": "\(error)", "exit_status": .stringConvertible(exitCode.rawValue)])
            } else {
                logger.critical(
                    "banditd stopped on an error",
                    metadata: ["error": "\(error)", "exit_status": .stringConvertible(exitCode.rawValue)])
            }
            throw exitCode
        }
    }
}
