import Foundation
import Synchronization
import TestSupport
import Testing

@testable import BanditOperations

#if canImport(Glibc)
    import Glibc
#endif

/// `metrics.listen` (CONTRACT section 11) against real TCP connections on loopback.
@Suite struct MetricsHTTPServerTests {
    let state: HealthState

    init() {
        state = HealthState(version: "1.0.0", uptime: { .seconds(1) })
    }

    /// A response split into its status line, headers (lower-cased names) and body.
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String

        init(_ text: String) throws {
            let parts = text.components(separatedBy: "\r\n\r\n")
            let head = try #require(parts.first).components(separatedBy: "\r\n")
            let statusLine = try #require(head.first).split(separator: " ")
            #expect(statusLine.first == "HTTP/1.1")
            status = Int(try #require(statusLine.dropFirst().first)) ?? 0
            headers = Dictionary(
                head.dropFirst().map { line in
                    let pair = line.split(separator: ":", maxSplits: 1)
                    return (pair[0].lowercased(), pair.count > 1 ? pair[1].trimmingCharacters(in: .whitespaces) : "")
                }, uniquingKeysWith: { $1 })
            body = parts.dropFirst().joined(separator: "\r\n\r\n")
        }
    }

    func withServer(
        host: String = "127.0.0.1", clientTimeout: Duration = .milliseconds(500), maximumClients: Int = 64,
        _ body: (MetricsHTTPServer, UInt16) throws -> Void
    ) throws {
        let server = MetricsHTTPServer(
            host: host, port: 0, health: state, clientTimeout: clientTimeout, maximumClients: maximumClients)
        try server.start()
        defer { server.stop() }
        try body(server, try #require(server.listeningPort))
    }

    func ask(_ request: String, port: UInt16, host: String = "127.0.0.1") throws -> Response {
        let client = try RawClient(host: host, port: port)
        try client.send(request)
        return try Response(client.readToEnd())
    }

    func markReady() {
        state.setNATSConnected(true)
        state.setPostgresConnected(true)
        state.markReady()
    }

    @Test func getMetricsAnswersPrometheusTextAndCloses() throws {
        state.metrics.recordProcessed(.signals, count: 9)
        try withServer { _, port throws in
            let response = try ask("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", port: port)
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(response.headers["connection"] == "close")
            #expect(response.headers["content-length"] == String(response.body.utf8.count))
            #expect(response.body == state.prometheusText())
            #expect(Exposition(response.body).value(#"banditd_messages_processed_total{consumer="signals"}"#) == 9)
        }
    }

    @Test func healthzIs200WithTheHealthJSONOnlyWhileOK() throws {
        try withServer { _, port throws in
            let starting = try ask("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", port: port)
            #expect(starting.status == 503)
            #expect(starting.headers["content-type"] == "application/json")
            #expect(starting.body == state.healthJSON() + "\n")
            #expect(starting.body.contains(#""status":"starting""#))
            markReady()
            let ready = try ask("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", port: port)
            #expect(ready.status == 200)
            #expect(ready.body == state.healthJSON() + "\n")
            state.setPostgresConnected(false)
            #expect(try ask("GET /healthz HTTP/1.0\r\n\r\n", port: port).status == 503)
            state.markStopping()
            #expect(try ask("GET /healthz HTTP/1.1\r\n\r\n", port: port).status == 503)
        }
    }

    @Test func headAnswersTheHeadersWithoutABody() throws {
        try withServer { _, port throws in
            let response = try ask("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", port: port)
            #expect(response.status == 200)
            #expect(response.body.isEmpty)
            #expect(Int(response.headers["content-length"] ?? "") ?? 0 > 100)
        }
    }

    @Test func onlyGetAndHeadAreAllowed() throws {
        try withServer { _, port throws in
            for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
                let response = try ask("\(method) /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", port: port)
                #expect(response.status == 405)
                #expect(response.headers["allow"] == "GET, HEAD")
            }
        }
    }

    @Test func otherPathsAre404AndAQueryStringIsIgnored() throws {
        try withServer { _, port throws in
            #expect(try ask("GET / HTTP/1.1\r\n\r\n", port: port).status == 404)
            #expect(try ask("GET /metricsx HTTP/1.1\r\n\r\n", port: port).status == 404)
            #expect(try ask("GET /metrics?name[]=up HTTP/1.1\r\n\r\n", port: port).status == 200)
        }
    }

    @Test func malformedRequestsGetA4xxOr505() throws {
        try withServer { _, port throws in
            #expect(try ask("GET\r\n\r\n", port: port).status == 400)
            #expect(try ask("GET metrics HTTP/1.1\r\n\r\n", port: port).status == 400)
            #expect(try ask("GET /metrics HTTP/2.0\r\n\r\n", port: port).status == 505)
            #expect(try ask("GET /metrics SPDY\r\n\r\n", port: port).status == 400)
            // A bare LF ends lines too (RFC 9112 allows a recipient to accept it).
            #expect(try ask("GET /metrics HTTP/1.1\n\n", port: port).status == 200)
        }
    }

    @Test func headersLongerThanTheLimitGet431() throws {
        try withServer { _, port throws in
            let long = "GET /metrics HTTP/1.1\r\nX-Padding: " + String(repeating: "a", count: 9000) + "\r\n\r\n"
            #expect(try ask(long, port: port).status == 431)
            let endless = String(repeating: "b", count: MetricsHTTPExchange.maximumRequestBytes + 10)
            #expect(try ask(endless, port: port).status == 431)
        }
    }

    @Test func aClientClosingBeforeTheBlankLineGets400() throws {
        try withServer { _, port throws in
            let client = try RawClient(host: "127.0.0.1", port: port)
            try client.send("GET /metrics HTTP/1.1\r\n")
            client.shutdownWrite()
            #expect(try Response(client.readToEnd()).status == 400)
        }
    }

    @Test func aRequestSentByteByByteIsAnswered() throws {
        try withServer(clientTimeout: .seconds(5)) { _, port throws in
            let client = try RawClient(host: "127.0.0.1", port: port)
            for character in "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" {
                try client.send(String(character))
                usleep(2000)
            }
            #expect(try Response(client.readToEnd()).body == state.healthJSON() + "\n")
        }
    }

    @Test func aSilentClientGets408AfterItsTimeAndBlocksNoOne() throws {
        try withServer(clientTimeout: .seconds(3)) { _, port throws in
            let silent = try (0..<50).map { _ in try RawClient(host: "127.0.0.1", port: port) }
            let started = ContinuousClock.now
            for _ in 0..<5 { #expect(try ask("GET /metrics HTTP/1.1\r\n\r\n", port: port).status == 200) }
            #expect(ContinuousClock.now - started < .seconds(2), "answered only after a silent client's time")
            for client in silent { #expect(try Response(client.readToEnd(timeout: .seconds(10))).status == 408) }
        }
    }

    @Test func pastTheConnectionLimitTheOldestSilentClientIsClosed() throws {
        try withServer(clientTimeout: .seconds(30), maximumClients: 8) { _, port throws in
            let silent = try (0..<20).map { _ in try RawClient(host: "127.0.0.1", port: port) }
            #expect(try ask("GET /metrics HTTP/1.1\r\n\r\n", port: port).status == 200)
            for client in silent.prefix(13) {
                #expect(try Response(client.readToEnd(timeout: .seconds(5))).status == 408)
            }
            for client in silent.suffix(7) { #expect(!TestSockets.waitReadable(client.descriptor, timeout: .zero)) }
        }
    }

    @Test func aClientThatVanishesEarlyDoesNotKillTheServer() throws {
        try withServer { _, port throws in
            for _ in 0..<20 {
                let client = try RawClient(host: "127.0.0.1", port: port)
                try client.send("GET /metrics HTTP/1.1\r\n\r\n")
            }
            #expect(try ask("GET /metrics HTTP/1.1\r\n\r\n", port: port).status == 200)
        }
    }

    @Test func ipv6LoopbackIsServed() throws {
        try withServer(host: "::1") { server, port throws in
            #expect(server.address == "[::1]:\(port)")
            #expect(try ask("GET /healthz HTTP/1.1\r\n\r\n", port: port, host: "::1").status == 503)
        }
    }

    @Test func aPortAnotherProcessHoldsIsAnErrorNotASecondChoice() throws {
        try withServer { _, port throws in
            let second = MetricsHTTPServer(host: "127.0.0.1", port: port, health: state)
            #expect {
                try second.start()
            } throws: { error in
                (error as? OperationsError)?.errno == EADDRINUSE
            }
            second.stop()
        }
    }

    @Test func stopClosesThePortAndCanBeCalledTwice() throws {
        let server = MetricsHTTPServer(host: "127.0.0.1", port: 0, health: state)
        try server.start()
        let port = try #require(server.listeningPort)
        server.stop()
        server.stop()
        #expect(throws: (any Error).self) { try RawClient(host: "127.0.0.1", port: port) }
    }
}
