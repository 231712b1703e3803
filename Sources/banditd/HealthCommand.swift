import ArgumentParser
import BanditConfig
import BanditOperations

struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Print the daemon's health JSON (or its metrics); exit 0 only if it is ok."
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "The health socket (default: the configured BANDITD_HEALTH_SOCKET / health.socket).")
    var socket: String?

    @Flag(help: "Print the Prometheus metrics instead of the health JSON.")
    var metrics = false

    func run() throws {
        let path: String
        if let socket {
            path = socket
        } else {
            path = try options.load().healthSocket
        }
        let answer: String
        do {
            answer = try HealthClient.query(socketPath: path, command: metrics ? "metrics" : "health")
        } catch {
            CommandOutput.fail("no answer from \(path): \(error)")
        }
        CommandOutput.print(answer.hasSuffix("\n") ? String(answer.dropLast()) : answer)
        if !metrics && !HealthClient.isOK(healthJSON: answer) { throw ExitCode.failure }
    }
}
