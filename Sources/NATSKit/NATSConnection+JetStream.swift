import CNATS
import Foundation

/// JetStream management over the JSON API (`$JS.API.*`) with core request/reply — the same
/// wire calls cnats's `js_*` helpers make, with Codable configs instead of C structs whose
/// `const char *` fields we would have to keep alive. Works against nats-server 2.9 and 2.10+.
extension NATSConnection {
    public static let apiPrefix = "$JS.API"

    public func streamInfo(_ name: String, timeout: Duration = .seconds(5)) throws(NATSError) -> StreamInfo {
        try apiRequest(
            "\(Self.apiPrefix).STREAM.INFO.\(name)", body: nil, operation: "stream info \(name)", timeout: timeout)
    }

    public func createStream(_ config: StreamConfiguration, timeout: Duration = .seconds(5)) throws(NATSError)
        -> StreamInfo
    {
        try apiRequest(
            "\(Self.apiPrefix).STREAM.CREATE.\(config.name)", body: try encode(config, "stream \(config.name)"),
            operation: "create stream \(config.name)", timeout: timeout)
    }

    public func updateStream(_ config: StreamConfiguration, timeout: Duration = .seconds(5)) throws(NATSError)
        -> StreamInfo
    {
        try apiRequest(
            "\(Self.apiPrefix).STREAM.UPDATE.\(config.name)", body: try encode(config, "stream \(config.name)"),
            operation: "update stream \(config.name)", timeout: timeout)
    }

    public func deleteStream(_ name: String, timeout: Duration = .seconds(5)) throws(NATSError) {
        let _: SuccessResponse = try apiRequest(
            "\(Self.apiPrefix).STREAM.DELETE.\(name)", body: nil, operation: "delete stream \(name)", timeout: timeout)
    }

    public func consumerInfo(stream: String, consumer: String, timeout: Duration = .seconds(5)) throws(NATSError)
        -> ConsumerInfo
    {
        try apiRequest(
            "\(Self.apiPrefix).CONSUMER.INFO.\(stream).\(consumer)", body: nil,
            operation: "consumer info \(stream)/\(consumer)", timeout: timeout)
    }

    /// Creates a durable consumer, or updates the mutable fields of an existing one (the server
    /// refuses changes to immutable fields with its own error text).
    public func createOrUpdateConsumer(
        stream: String, _ config: ConsumerConfiguration, timeout: Duration = .seconds(5)
    ) throws(NATSError) -> ConsumerInfo {
        guard let durable = config.durableName else {
            throw NATSError(
                operation: "create consumer on \(stream)", origin: .malformedResponse,
                message: "banditd only creates durable consumers: durable name missing")
        }
        let request = CreateConsumerRequest(streamName: stream, config: config)
        return try apiRequest(
            "\(Self.apiPrefix).CONSUMER.DURABLE.CREATE.\(stream).\(durable)",
            body: try encode(request, "consumer \(durable)"),
            operation: "create consumer \(stream)/\(durable)", timeout: timeout)
    }

    public func deleteConsumer(stream: String, consumer: String, timeout: Duration = .seconds(5)) throws(NATSError) {
        let _: SuccessResponse = try apiRequest(
            "\(Self.apiPrefix).CONSUMER.DELETE.\(stream).\(consumer)", body: nil,
            operation: "delete consumer \(stream)/\(consumer)", timeout: timeout)
    }

    /// Publishes to a JetStream subject and waits for the stream's PubAck. A publish that no
    /// stream captures fails with `isNoResponders`.
    @discardableResult
    public func publish(
        subject: String, headers: NATSHeaders = NATSHeaders(), body: [UInt8], timeout: Duration = .seconds(5)
    ) throws(NATSError) -> PubAck {
        let msg = try makeCMessage(subject: subject, reply: nil, headers: headers, body: body)
        defer { natsMsg_Destroy(msg) }
        var reply: OpaquePointer?
        let status = withHandle { natsConnection_RequestMsg(&reply, $0, msg, timeout.natsMilliseconds) }
        try natsCheck(status, "publish to \(subject)")
        guard let reply else {
            throw NATSError(operation: "publish to \(subject)", origin: .malformedResponse, message: "no PubAck")
        }
        return try decodeAPIResponse(NATSMessage(consuming: reply).body, operation: "publish to \(subject)")
    }

    /// One message to publish with `publishPipelined`.
    public struct OutgoingMessage: Sendable {
        public var subject: String
        public var headers: NATSHeaders
        public var body: [UInt8]

        public init(subject: String, headers: NATSHeaders = NATSHeaders(), body: [UInt8]) {
            self.subject = subject
            self.headers = headers
            self.body = body
        }
    }

    /// Publishes many messages with up to `window` PubAcks outstanding, and returns the PubAcks
    /// in input order. Throws on the first failed publish (messages before it are stored).
    /// For producers, tests and benchmarks; the daemon's dead letters use `publish`.
    public func publishPipelined(
        _ messages: [OutgoingMessage], window: Int = 512, timeout: Duration = .seconds(10)
    ) throws(NATSError) -> [PubAck] {
        guard !messages.isEmpty else { return [] }
        let inbox = try makeInbox()
        var sub: OpaquePointer?
        try natsCheck(withHandle { natsConnection_SubscribeSync(&sub, $0, "\(inbox).*") }, "subscribe to PubAck inbox")
        defer {
            natsSubscription_Unsubscribe(sub)
            natsSubscription_Destroy(sub)
        }
        var acks = [PubAck?](repeating: nil, count: messages.count)
        var sent = 0
        var received = 0
        while received < messages.count {
            while sent < messages.count && sent - received < window {
                let message = messages[sent]
                let msg = try makeCMessage(
                    subject: message.subject, reply: "\(inbox).\(sent)", headers: message.headers, body: message.body)
                let status = withHandle { natsConnection_PublishMsg($0, msg) }
                natsMsg_Destroy(msg)
                try natsCheck(status, "publish to \(message.subject)")
                sent += 1
            }
            var reply: OpaquePointer?
            try natsCheck(natsSubscription_NextMsg(&reply, sub, timeout.natsMilliseconds), "await PubAck")
            let answer = NATSMessage(consuming: reply!)
            guard let index = answer.subject.split(separator: ".").last.flatMap({ Int($0) }), index < acks.count,
                acks[index] == nil
            else { continue }
            acks[index] = try decodeAPIResponse(answer.body, operation: "publish to \(messages[index].subject)")
            received += 1
        }
        return acks.map { $0! }
    }

    /// A new unique inbox subject (`_INBOX.<nuid>`).
    func makeInbox() throws(NATSError) -> String {
        var inbox: UnsafeMutablePointer<CChar>?
        try natsCheck(natsInbox_Create(&inbox), "create inbox")
        defer { natsInbox_Destroy(inbox) }
        return String(cString: inbox!)
    }

    /// Publishes a core NATS message (no PubAck): used for acks and pull requests.
    func publishCore(subject: String, reply: String? = nil, body: [UInt8]) throws(NATSError) {
        let status = body.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                withHandle { handle in
                    if let reply {
                        natsConnection_PublishRequest(handle, subject, reply, chars.baseAddress, Int32(chars.count))
                    } else {
                        natsConnection_Publish(handle, subject, chars.baseAddress, Int32(chars.count))
                    }
                }
            }
        }
        try natsCheck(status, "publish to \(subject)")
    }

    func apiRequest<Response: Decodable>(
        _ subject: String, body: [UInt8]?, operation: String, timeout: Duration
    ) throws(NATSError) -> Response {
        var reply: OpaquePointer?
        let payload = body ?? []
        let status = payload.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                withHandle {
                    natsConnection_Request(
                        &reply, $0, subject, chars.baseAddress, Int32(chars.count), timeout.natsMilliseconds)
                }
            }
        }
        if status == NATS_NO_RESPONDERS {
            throw NATSError(
                operation: operation, origin: .library(status: status.rawValue),
                message: "\(String(cString: natsStatus_GetText(status))) (is JetStream enabled on the server?)")
        }
        try natsCheck(status, operation)
        return try decodeAPIResponse(NATSMessage(consuming: reply!).body, operation: operation)
    }

    private func encode(_ value: some Encodable, _ what: String) throws(NATSError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(value))
        } catch {
            throw NATSError(operation: "encode \(what)", origin: .malformedResponse, message: "\(error)")
        }
    }
}

/// Decodes a JetStream API answer: either `{"error": {...}}` or the expected object.
func decodeAPIResponse<Response: Decodable>(_ body: [UInt8], operation: String) throws(NATSError) -> Response {
    let data = Data(body)
    if let failure = try? JSONDecoder().decode(APIErrorResponse.self, from: data) {
        throw NATSError(
            operation: operation, origin: .jetStream(code: failure.error.code, errorCode: failure.error.errCode ?? 0),
            message: failure.error.description ?? "JetStream error \(failure.error.code)")
    }
    do {
        return try JSONDecoder().decode(Response.self, from: data)
    } catch {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        throw NATSError(operation: operation, origin: .malformedResponse, message: "unexpected answer: \(text)")
    }
}

private struct APIErrorResponse: Decodable {
    struct APIError: Decodable {
        var code: Int
        var errCode: Int?
        var description: String?

        enum CodingKeys: String, CodingKey {
            case code, description
            case errCode = "err_code"
        }
    }

    var error: APIError
}

private struct SuccessResponse: Decodable {
    var success: Bool
}

private struct CreateConsumerRequest: Encodable {
    var streamName: String
    var config: ConsumerConfiguration

    enum CodingKeys: String, CodingKey {
        case config
        case streamName = "stream_name"
    }
}
