import Foundation

/// A throwaway Prometheus (Debian's `prometheus` package) on a free loopback port, its
/// configuration and TSDB in a temp folder, scraping the given targets every second.
///
/// The binary is `$BANDITD_TEST_PROMETHEUS` if set, else `prometheus` on `$PATH`: a missing binary
/// is an error, never a skip.
public final class PrometheusServer: Sendable {
    public let port: Int
    public let directory: TemporaryDirectory
    private let process: ChildProcess

    /// Starts Prometheus with one scrape job, `job`, over `targets` (`host:port`), evaluating
    /// `ruleFiles` every second.
    public static func start(job: String, targets: [String], ruleFiles: [String] = []) throws -> PrometheusServer {
        let binary = try Executable.locate("prometheus", environmentOverride: "BANDITD_TEST_PROMETHEUS")
        let directory = try TemporaryDirectory(prefix: "banditd-prometheus")
        do {
            return try PrometheusServer(
                binary: binary, directory: directory, port: try FreePort.allocate(), job: job, targets: targets,
                ruleFiles: ruleFiles)
        } catch {
            directory.remove()
            throw error
        }
    }

    private init(
        binary: String, directory: TemporaryDirectory, port: Int, job: String, targets: [String], ruleFiles: [String]
    ) throws {
        self.port = port
        self.directory = directory
        let quotedTargets = targets.map { "\"\($0)\"" }.joined(separator: ", ")
        let quotedRules = ruleFiles.map { "  - \"\($0)\"" }.joined(separator: "\n")
        let configuration = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            rule_files:
            \(quotedRules)
            scrape_configs:
              - job_name: \(job)
                static_configs:
                  - targets: [\(quotedTargets)]

            """
        let configFile = directory.appending("prometheus.yml")
        try configuration.write(toFile: configFile, atomically: true, encoding: .utf8)
        let logFile = directory.appending("prometheus.log")
        process = try ChildProcess(
            binary,
            arguments: [
                "--config.file=\(configFile)", "--storage.tsdb.path=\(try directory.makeSubdirectory("data"))",
                "--web.listen-address=127.0.0.1:\(port)",
            ], logFile: logFile)
        do {
            try waitUntil(timeout: .seconds(30), poll: .milliseconds(100)) { [process] in
                guard process.isRunning else { throw TestSupportError("prometheus exited at start") }
                return (try? HTTPClient.get(port: port, path: "/-/ready", timeout: .seconds(2)).status) == 200
            }
        } catch {
            process.stop()
            throw TestSupportError("prometheus did not become ready on port \(port): \(error)\n\(process.log())")
        }
    }

    /// `GET /api/v1/{path}`; the JSON answer's `data` member.
    public func api(_ path: String) throws -> Any {
        let response = try HTTPClient.get(port: port, path: "/api/v1/" + path)
        guard response.status == 200,
            let object = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any],
            object["status"] as? String == "success", let data = object["data"]
        else { throw TestSupportError("prometheus /api/v1/\(path): \(response.status) \(response.body)") }
        return data
    }

    /// An instant query's samples: each series' labels and value.
    public func query(_ promQL: String) throws -> [(labels: [String: String], value: Double)] {
        guard let data = try api("query?query=" + HTTPClient.queryValue(promQL)) as? [String: Any],
            let result = data["result"] as? [[String: Any]]
        else { throw TestSupportError("prometheus query \(promQL): not a vector") }
        return result.compactMap { sample in
            guard let labels = sample["metric"] as? [String: String], let pair = sample["value"] as? [Any],
                pair.count == 2, let text = pair[1] as? String, let value = Double(text)
            else { return nil }
            return (labels, value)
        }
    }

    public func log() -> String { process.log() }

    /// Stops Prometheus and removes its folder.
    public func stop() {
        process.stop()
        directory.remove()
    }
}
