import Foundation
import NATSKit
import TestSupport
import Testing

@Suite(.natsServer, .serialized)
struct ConnectionAndManagementTests {
    @Test func connectsAndReportsTheServer() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try NATSConnection(options: NATSConnectionOptions(servers: [server.url]))
            #expect(connection.isConnected)
            #expect(connection.status.state == .connected)
            #expect(connection.connectedURL == server.url)
            connection.close()
            #expect(!connection.isConnected)
        }
    }

    /// The callback context (and what the event handler captures) is released when the first
    /// connect fails, and after `close()` once cnats has posted `closed`: nothing leaks either way.
    @Test func theEventHandlerIsReleasedAfterAFailedConnectAndAfterClose() async throws {
        final class Captured: Sendable {}
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            weak var failedCapture: Captured?
            do {
                let captured = Captured()
                failedCapture = captured
                let port = try FreePort.allocate()
                #expect(throws: NATSError.self) {
                    _ = try NATSConnection(options: NATSConnectionOptions(servers: ["nats://127.0.0.1:\(port)"])) {
                        _ in _ = captured
                    }
                }
            }
            #expect(failedCapture == nil, "a failed connect kept its callback context")

            weak var closedCapture: Captured?
            do {
                let captured = Captured()
                closedCapture = captured
                let connection = try NATSConnection(options: NATSConnectionOptions(servers: [server.url])) { _ in
                    _ = captured
                }
                connection.close()
            }
            try waitUntil(timeout: .seconds(10)) { closedCapture == nil }
        }
    }

    @Test func anUnreachableServerIsAClearErrorNotARetryLoop() async throws {
        try await onDedicatedThread {
            let port = try FreePort.allocate()
            let started = ContinuousClock.now
            let error = #expect(throws: NATSError.self) {
                _ = try NATSConnection(options: NATSConnectionOptions(servers: ["nats://127.0.0.1:\(port)"]))
            }
            #expect(error?.message.contains("No server available") == true)
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test func streamsAreCreatedLookedUpAndUpdated() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try NATSConnection(options: NATSConnectionOptions(servers: [server.url]))
            let name = "MGMT\(UUID().uuidString.prefix(6))"
            let notFound = #expect(throws: NATSError.self) { _ = try connection.streamInfo(name) }
            #expect(notFound?.isNotFound == true)

            var config = StreamConfiguration(name: name, subjects: ["mgmt\(name).>"], duplicateWindow: .seconds(60))
            let created = try connection.createStream(config)
            #expect(created.config == config)
            #expect(try connection.streamInfo(name).config.subjects == config.subjects)

            config.maxAge = .seconds(3600)
            let updated = try connection.updateStream(config)
            #expect(updated.config.maxAge == .seconds(3600))
            #expect(try connection.streamInfo(name).config.maxAge == .seconds(3600))

            // The server's own text explains what is wrong.
            let invalid = #expect(throws: NATSError.self) {
                _ = try connection.createStream(StreamConfiguration(name: "BAD\(name)", subjects: ["mgmt\(name).>"]))
            }
            #expect(invalid?.message.isEmpty == false)
            try connection.deleteStream(name)
        }
    }

    @Test func durableConsumersAreCreatedLookedUpAndUpdated() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try NATSConnection(options: NATSConnectionOptions(servers: [server.url]))
            let stream = "CONS\(UUID().uuidString.prefix(6))"
            _ = try connection.createStream(StreamConfiguration(name: stream, subjects: ["cons\(stream).>"]))
            var config = ConsumerConfiguration(
                durableName: "worker", ackWait: .seconds(30), maxDeliver: 5, maxAckPending: 100)
            let created = try connection.createOrUpdateConsumer(stream: stream, config)
            #expect(created.config.ackPolicy == .explicit)
            #expect(created.config.maxDeliver == 5)
            #expect(created.config.ackWait == .seconds(30))
            #expect(created.config.backoff.isEmpty)
            #expect(created.config.deliverSubject == nil)

            config.maxAckPending = 200
            #expect(try connection.createOrUpdateConsumer(stream: stream, config).config.maxAckPending == 200)
            #expect(try connection.consumerInfo(stream: stream, consumer: "worker").config.maxAckPending == 200)

            let missing = #expect(throws: NATSError.self) {
                _ = try connection.consumerInfo(stream: stream, consumer: "nobody")
            }
            #expect(missing?.isNotFound == true)
            let unbound = #expect(throws: NATSError.self) {
                _ = try PullConsumer(connection: connection, stream: stream, consumer: "nobody")
            }
            #expect(unbound?.isNotFound == true)
            try connection.deleteStream(stream)
        }
    }

    @Test func publishAwaitsThePubAckAndJetStreamDeduplicatesByMsgId() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let connection = try NATSConnection(options: NATSConnectionOptions(servers: [server.url]))
            let stream = "PUB\(UUID().uuidString.prefix(6))"
            _ = try connection.createStream(StreamConfiguration(name: stream, subjects: ["pub\(stream).>"]))
            let headers: NATSHeaders = ["Nats-Msg-Id": "same-id"]
            let first = try connection.publish(subject: "pub\(stream).x", headers: headers, body: Array("1".utf8))
            let second = try connection.publish(subject: "pub\(stream).x", headers: headers, body: Array("1".utf8))
            #expect(!first.duplicate)
            #expect(second.duplicate)
            #expect(second.sequence == first.sequence)
            #expect(try connection.streamInfo(stream).state.messages == 1)

            let nowhere = #expect(throws: NATSError.self) {
                _ = try connection.publish(subject: "no.stream.here", body: Array("x".utf8), timeout: .seconds(2))
            }
            #expect(nowhere?.isNoResponders == true)
            try connection.deleteStream(stream)
        }
    }
}

/// Each of these suites starts its own server with an authorization block.
@Suite(.serialized)
struct AuthenticationTests {
    @Test func userAndPasswordAuthenticateAndAWrongPasswordIsAClearError() async throws {
        try await onDedicatedThread {
            let server = try NATSServer.start(
                extraConfiguration: "authorization { user: banditd, password: \"s3cret-pass\" }")
            defer { server.stop() }
            let good = try NATSConnection(
                options: NATSConnectionOptions(servers: [server.url], user: "banditd", password: "s3cret-pass"))
            #expect(good.isConnected)
            let error = #expect(throws: NATSError.self) {
                _ = try NATSConnection(
                    options: NATSConnectionOptions(servers: [server.url], user: "banditd", password: "wrong-pass"))
            }
            #expect(error?.message.contains("Authorization") == true)
            #expect(error?.description.contains("wrong-pass") == false)
        }
    }

    @Test func aTokenAuthenticates() async throws {
        try await onDedicatedThread {
            let server = try NATSServer.start(extraConfiguration: "authorization { token: \"t0ken-value\" }")
            defer { server.stop() }
            let good = try NATSConnection(options: NATSConnectionOptions(servers: [server.url], token: "t0ken-value"))
            #expect(good.isConnected)
            #expect(throws: NATSError.self) {
                _ = try NATSConnection(options: NATSConnectionOptions(servers: [server.url], token: "other"))
            }
        }
    }
}
