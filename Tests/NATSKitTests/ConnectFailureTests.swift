import Foundation
import NATSKit
import TestSupport
import Testing

/// Server URLs checked before connecting, and a failed first connect classified: retry only while
/// no server answers.
@Suite(.serialized)
struct ConnectFailureTests {
    @Test(arguments: [
        ("nats://127.0.0.1:4222", "nats", "127.0.0.1", 4222), ("tls://db.example", "tls", "db.example", 4222),
        ("localhost:4333", "nats", "localhost", 4333), ("nats://u:p@[::1]:4444", "nats", "::1", 4444),
        ("NATS://host_1.example/", "nats", "host_1.example", 4222), ("garbage", "nats", "garbage", 4222),
    ])
    func usableURLsParse(url: String, scheme: String, host: String, port: Int) throws {
        let parsed = try NATSServerURL(url)
        #expect(parsed.scheme == scheme)
        #expect(parsed.host == host)
        #expect(parsed.port == port)
    }

    @Test(arguments: [
        "nats://host:abc", "nats://127.0.0.1:99999", "nats://127.0.0.1:0", "http://127.0.0.1:4222", "nats://",
        "::::", "nats://[::1", "nats://a b:4222", "nats://host:4222/path", "", "nats://user:s3cret@:4222",
    ])
    func unusableURLsAreRefusedBeforeConnecting(url: String) {
        let error = #expect(throws: NATSServerURL.Malformed.self) { _ = try NATSServerURL(url) }
        #expect(error?.description.contains("s3cret") == false)
    }

    @Test func aPasswordNeverShowsInTheReason() throws {
        for url in ["nats://user:s3cret@host:notaport", "user:s3cret@host:notaport"] {
            let error = try #require(throws: NATSServerURL.Malformed.self) { _ = try NATSServerURL(url) }
            #expect(!error.description.contains("s3cret"), "\(error)")
        }
    }

    @Test func namesThatDoNotExistAreToldApartFromLookupsThatFail() throws {
        #expect(try NATSServerURL("nats://localhost:4222").resolve() == .resolves)
        #expect(try NATSServerURL("nats://127.0.0.1:4222").resolve() == .resolves)
        #expect(try NATSServerURL("nats://no-such-host.invalid:4222").resolve() == .unknownHost)
    }

    @Test func realConnectFailuresAreClassified() async throws {
        try await onDedicatedThread {
            let server = try NATSServer.start(
                extraConfiguration: "authorization { user: banditd, password: \"s3cret-pass\" }")
            defer { server.stop() }
            let closed = "nats://127.0.0.1:\(try FreePort.allocate())"
            let cases: [(NATSConnectionOptions, NATSConnectFailure)] = [
                (NATSConnectionOptions(servers: [closed]), .unreachable),
                (NATSConnectionOptions(servers: [server.url], user: "banditd", password: "wrong"), .misconfigured),
                (NATSConnectionOptions(servers: [server.url]), .misconfigured),
                (NATSConnectionOptions(servers: ["nats://host:abc"]), .misconfigured),
                (NATSConnectionOptions(servers: ["nats://no-such-host.invalid:4222"]), .misconfigured),
                (NATSConnectionOptions(servers: ["garbage"]), .misconfigured),
                (NATSConnectionOptions(servers: ["nats://no-such-host.invalid:4222", closed]), .unreachable),
                (
                    NATSConnectionOptions(servers: [server.url], credentialsFile: "/nonexistent/banditd.creds"),
                    .misconfigured
                ),
            ]
            for (options, expected) in cases {
                let error = #expect(throws: NATSError.self) { _ = try NATSConnection(options: options) }
                let failure = try #require(error)
                #expect(
                    NATSConnectFailure.classify(failure, servers: options.servers) == expected, "\(options): \(failure)"
                )
                #expect(!"\(failure)".contains("s3cret"))
            }
        }
    }
}
