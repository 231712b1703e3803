import ArgumentParser
import BanditConfig
import Logging
import ServiceLifecycle

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon: connect, migrate, ensure streams, bind both consumers; SIGTERM or SIGINT stops it."
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = try options.load()
        let logger = LoggingSetup.bootstrap(level: configuration.logLevel)
        let daemon = Daemon(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: daemon, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            logger.critical("banditd stopped on an error", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}
