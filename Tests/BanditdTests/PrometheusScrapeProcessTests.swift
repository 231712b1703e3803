import Foundation
import NATSKit
import TestSupport
import Testing

/// A real Prometheus (Debian's package) scrapes a running `banditd run` over `metrics.listen`
/// (CONTRACT section 11) with the shipped rules loaded, and a counter is read back through
/// Prometheus' HTTP API.
@Suite(.postgresServer, .serialized)
struct PrometheusScrapeProcessTests {
    static let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/prometheus")

    @Test func prometheusScrapesTheDaemonAndCountsWhatItProcessed() async throws {
        try await OperationsStack.with { stack in
            let port = try FreePort.allocate()
            var environment = stack.environment
            environment["BANDITD_METRICS_LISTEN"] = "127.0.0.1:\(port)"
            let daemon = try stack.startDaemon(environment: environment, log: "banditd.log")
            defer { daemon.stop() }
            #expect(daemon.log().contains(#""metrics_listen":"127.0.0.1:\#(port)""#))
            #expect(try HTTPClient.get(port: port, path: "/healthz").status == 200)

            let prometheus = try PrometheusServer.start(
                job: "banditd", targets: ["127.0.0.1:\(port)"],
                ruleFiles: ["recording.rules.yml", "alerts.rules.yml"].map {
                    Self.rules.appendingPathComponent($0).path
                }
            )
            defer { prometheus.stop() }

            // Three rewards applied, two bodies that are not JSON dead-lettered.
            let nats = try stack.connectNATS()
            defer { nats.close() }
            var messages: [NATSConnection.OutgoingMessage] = []
            for index in 0..<3 {
                let reward = try OperationsStack.inlineReward(
                    user: "u\(index)", policy: "linucb_v1", arm: "a", features: [0.1, 0.2, 0.3, 0.4, 0.5],
                    reward: 0.5)
                messages.append(
                    .init(subject: "feedback.reward", headers: ["Nats-Msg-Id": reward.id.uuidString], body: reward.body)
                )
            }
            for index in 0..<2 {
                messages.append(
                    .init(subject: "feedback.reward", headers: ["Nats-Msg-Id": "bad-\(index)"], body: [0x7b]))
            }
            _ = try nats.publishPipelined(messages)

            func value(_ promQL: String) -> Double? { (try? prometheus.query(promQL))?.first?.value }
            try waitUntil(timeout: .seconds(60), poll: .milliseconds(500)) {
                value(#"banditd_messages_processed_total{job="banditd",consumer="feedback"}"#) == 3
                    && value(#"banditd_messages_dead_lettered_total{consumer="feedback",reason="json.invalid"}"#) == 2
            }
            #expect(value(#"up{job="banditd"}"#) == 1)
            #expect(value("banditd_up") == 1)
            #expect(value(#"banditd_messages_processed_total{consumer="signals"}"#) == 0)
            #expect(value(#"banditd_apply_seconds_count{consumer="feedback"}"#) ?? 0 >= 1)
            #expect(value("banditd_consumer_pending") != nil)

            // The shipped rules load into a real Prometheus, every one of them.
            let rules = try #require(try prometheus.api("rules") as? [String: Any])
            let groups = try #require(rules["groups"] as? [[String: Any]])
            let names = groups.flatMap { ($0["rules"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } }
            #expect(names.contains("BanditdDown"))
            #expect(names.contains("consumer:banditd_messages_processed:rate5m"))
            #expect(names.count == 25, "rules loaded: \(names)")
        }
    }
}
