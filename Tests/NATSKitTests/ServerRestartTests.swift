import Foundation
import NATSKit
import Synchronization
import TestSupport
import Testing

/// A pull dies with a server restart (nats.go #890, nats-server #3991): consumption must resume
/// without restarting the client.
@Suite(.natsServer, .serialized)
struct ServerRestartTests {
    @Test func consumptionResumesAfterTheServerRestartsWhileAPullIsOpen() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let events = Mutex<[NATSConnectionEvent]>([])
            let connection = try NATSConnection(
                options: NATSConnectionOptions(servers: [server.url], reconnectWait: .milliseconds(100)),
                onEvent: { event in events.withLock { $0.append(event) } })
            let stream = "RST\(UUID().uuidString.prefix(6))"
            _ = try connection.createStream(StreamConfiguration(name: stream, subjects: ["rst\(stream).>"]))
            _ = try connection.createOrUpdateConsumer(
                stream: stream, ConsumerConfiguration(durableName: "worker", ackWait: .seconds(30)))
            let consumer = try PullConsumer(connection: connection, stream: stream, consumer: "worker")

            // A long pull is open at the server when it goes away.
            #expect(try consumer.fetch(maxMessages: 10, maxWait: .milliseconds(200)).isEmpty)
            _ = try consumer.fetch(maxMessages: 10, maxWait: .milliseconds(1))
            try server.restart()
            try waitUntil(timeout: .seconds(20)) { connection.status.state == .connected && connection.isConnected }
            #expect(connection.status.reconnects >= 1)
            #expect(events.withLock { $0.contains(.disconnected) })

            var acked: [UInt64] = []
            for index in 0..<5 {
                try waitUntil(timeout: .seconds(20)) {
                    (try? connection.publish(subject: "rst\(stream).x", body: Array("\(index)".utf8))) != nil
                }
            }
            let deadline = ContinuousClock.now + .seconds(30)
            while acked.count < 5 && ContinuousClock.now < deadline {
                let batch: [JetStreamMessage]
                do {
                    batch = try consumer.fetch(maxMessages: 10, maxWait: .milliseconds(500))
                } catch let error as NATSError where error.isTransient {
                    // JetStream may still be recovering the consumer ("no responders"): the
                    // wrapper reports it, callers retry, as the worker does.
                    Thread.sleep(forTimeInterval: 0.1)
                    continue
                }
                for message in batch {
                    try connection.ack(message)
                    acked.append(message.metadata.streamSequence)
                }
            }
            #expect(acked == [1, 2, 3, 4, 5])
            try connection.deleteStream(stream)
        }
    }
}
