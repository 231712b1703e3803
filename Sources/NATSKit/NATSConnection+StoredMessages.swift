import Foundation

/// Reading and deleting single stream messages by sequence (`$JS.API.STREAM.MSG.GET.<stream>`,
/// `$JS.API.STREAM.MSG.DELETE.<stream>`): no consumer is involved, so nothing is consumed, acked
/// or left pending. Works against nats-server 2.9 and 2.10+ (the non-direct API, answered by the
/// stream leader, so a read follows the latest write also on a cluster).
extension NATSConnection {
    /// The message stored at `sequence`, or nil if there is none (never stored, deleted, or
    /// removed by the stream's limits).
    public func getMessage(
        stream: String, sequence: UInt64, timeout: Duration = .seconds(5)
    ) throws(NATSError) -> StoredMessage? {
        try messageGet(stream: stream, request: #"{"seq":\#(sequence)}"#, timeout: timeout)
    }

    /// The first message at or after sequence `from` whose subject matches `subject` (wildcards
    /// allowed), or nil if there is none.
    public func nextMessage(
        stream: String, from sequence: UInt64, subject: String, timeout: Duration = .seconds(5)
    ) throws(NATSError) -> StoredMessage? {
        let subjectJSON = String(decoding: (try? JSONEncoder().encode(subject)) ?? Data(), as: UTF8.self)
        return try messageGet(
            stream: stream, request: #"{"seq":\#(max(sequence, 1)),"next_by_subj":\#(subjectJSON)}"#, timeout: timeout)
    }

    /// Removes the message at `sequence`. Returns false if there was none (already deleted).
    @discardableResult
    public func deleteMessage(
        stream: String, sequence: UInt64, timeout: Duration = .seconds(5)
    ) throws(NATSError) -> Bool {
        do {
            let _: DeleteResponse = try apiRequest(
                "\(Self.apiPrefix).STREAM.MSG.DELETE.\(stream)", body: Array(#"{"seq":\#(sequence)}"#.utf8),
                operation: "delete message \(sequence) from \(stream)", timeout: timeout)
            return true
        } catch  where error.isMessageNotFound || error.message.hasSuffix("sequence \(sequence) not found") {
            // 2.9 and 2.10+ answer a delete of a missing message with 400 / 10043 "sequence N not found".
            return false
        }
    }

    private func messageGet(stream: String, request: String, timeout: Duration) throws(NATSError) -> StoredMessage? {
        let operation = "get message from \(stream)"
        let response: MessageGetResponse
        do {
            response = try apiRequest(
                "\(Self.apiPrefix).STREAM.MSG.GET.\(stream)", body: Array(request.utf8), operation: operation,
                timeout: timeout)
        } catch  where error.isMessageNotFound {
            return nil
        }
        let raw = response.message
        guard let body = Self.base64(raw.data), let headerBlock = Self.base64(raw.hdrs) else {
            throw NATSError(operation: operation, origin: .malformedResponse, message: "data or hdrs is not base64")
        }
        return StoredMessage(
            subject: raw.subject, sequence: raw.seq, headers: StoredMessage.parseHeaderBlock(headerBlock), body: body,
            time: raw.time)
    }

    private static func base64(_ text: String?) -> [UInt8]? {
        guard let text, !text.isEmpty else { return [] }
        return Data(base64Encoded: text).map { Array($0) }
    }
}

extension NATSError {
    /// JetStream said "no message found" (10037): nothing stored at that sequence.
    public var isMessageNotFound: Bool {
        guard case .jetStream(_, let errorCode) = origin else { return false }
        return errorCode == 10037
    }
}

private struct MessageGetResponse: Decodable {
    struct Message: Decodable {
        var subject: String
        var seq: UInt64
        var hdrs: String?
        var data: String?
        var time: String
    }

    var message: Message
}

private struct DeleteResponse: Decodable {
    var success: Bool
}
