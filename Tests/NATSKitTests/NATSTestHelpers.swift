import Foundation
import NATSKit
import TestSupport

/// A stream + durable pull consumer private to one test, on the suite's server.
struct TestStream {
    let connection: NATSConnection
    let stream: String
    let subjectPrefix: String
    let consumer: String

    /// Creates a uniquely named stream capturing `<prefix>.>` and a durable pull consumer on it.
    static func make(
        on server: NATSServer, ackWait: Duration = .seconds(30), maxDeliver: Int = 5
    ) throws -> TestStream {
        let connection = try NATSConnection(options: NATSConnectionOptions(servers: [server.url]))
        let token = UUID().uuidString.prefix(8).lowercased()
        let stream = "T\(token.uppercased())"
        let prefix = "t\(token)"
        _ = try connection.createStream(StreamConfiguration(name: stream, subjects: ["\(prefix).>"]))
        let consumer = "c\(token)"
        _ = try connection.createOrUpdateConsumer(
            stream: stream,
            ConsumerConfiguration(durableName: consumer, ackWait: ackWait, maxDeliver: maxDeliver))
        return TestStream(connection: connection, stream: stream, subjectPrefix: prefix, consumer: consumer)
    }

    func subject(_ suffix: String = "event") -> String { "\(subjectPrefix).\(suffix)" }

    func publish(_ count: Int, suffix: String = "event") throws -> [PubAck] {
        try connection.publishPipelined(
            (0..<count).map { index in
                NATSConnection.OutgoingMessage(
                    subject: subject(suffix), headers: ["Nats-Msg-Id": "\(stream)-\(suffix)-\(index)"],
                    body: Array("{\"n\":\(index)}".utf8))
            })
    }

    func pullConsumer() throws -> PullConsumer {
        try PullConsumer(connection: connection, stream: stream, consumer: consumer)
    }
}

/// Fetches until `count` messages arrived or `timeout` passed.
func fetchAll(
    _ consumer: PullConsumer, count: Int, batch: Int = 64, timeout: Duration = .seconds(10)
) throws -> [JetStreamMessage] {
    var messages: [JetStreamMessage] = []
    let deadline = ContinuousClock.now + timeout
    while messages.count < count && ContinuousClock.now < deadline {
        messages += try consumer.fetch(maxMessages: batch, maxWait: .milliseconds(200))
    }
    return messages
}
