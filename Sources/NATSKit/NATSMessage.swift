import CNATS
import Foundation

/// A message copied out of a `natsMsg` (which is destroyed at once): plain Swift values that
/// can cross threads and outlive the C client's buffers.
struct NATSMessage: Sendable {
    var subject: String
    var replySubject: String?
    var headers: NATSHeaders
    var body: [UInt8]

    /// Copies and takes ownership: `msg` is destroyed before this returns.
    init(consuming msg: OpaquePointer) {
        defer { natsMsg_Destroy(msg) }
        subject = String(cString: natsMsg_GetSubject(msg))
        replySubject = natsMsg_GetReply(msg).map { String(cString: $0) }
        let count = Int(natsMsg_GetDataLength(msg))
        if count > 0, let data = natsMsg_GetData(msg) {
            body = data.withMemoryRebound(to: UInt8.self, capacity: count) {
                Array(UnsafeBufferPointer(start: $0, count: count))
            }
        } else {
            body = []
        }
        headers = Self.rawHeaderBlock(of: msg).map { NATSHeaders(headerBlock: $0) } ?? Self.liftedHeaders(of: msg)
    }

    /// The message's header block exactly as it arrived, read before cnats "lifts" it.
    ///
    /// Why not `natsMsgHeader_Keys`/`_Values`: cnats 3.4.1's lift (its header hash) loses headers of
    /// large blocks. Seen here: of `X-Probe-0` … `X-Probe-N`, `X-Probe-1` vanished and its value was
    /// listed under `X-Probe-100` (N = 126, 127) or `X-Probe-129` (N = 199); not with 100 or 129
    /// headers. A dead letter must keep every original header, so we parse the block ourselves.
    ///
    /// cnats keeps a received message in one allocation: subject NUL, reply NUL (if any), the header
    /// block, one NUL, the payload (`natsMsg_create`). The block is therefore the bytes between the
    /// end of the reply (or subject) and the payload. That layout is cnats's, not its API, so it is
    /// checked before use: the bytes must start with `NATS/1.0`, end with `\r\n\r\n` and a NUL right
    /// before the payload. If any check fails (another cnats build), the lifted headers are used.
    private static func rawHeaderBlock(of msg: OpaquePointer) -> UnsafeBufferPointer<UInt8>? {
        guard let data = natsMsg_GetData(msg), let last = natsMsg_GetReply(msg) ?? natsMsg_GetSubject(msg) else {
            return nil
        }
        let start = UnsafeRawPointer(last) + strlen(last) + 1
        let payload = UnsafeRawPointer(data)
        // A block is at least "NATS/1.0\r\n\r\n" and its NUL; more than 16 MiB is not a NATS header.
        guard payload > start, payload - start >= 13, payload - start <= 16 << 20 else { return nil }
        let block = UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: payload - start - 1)
        guard block.starts(with: "NATS/1.0".utf8), block.suffix(4).elementsEqual("\r\n\r\n".utf8),
            payload.load(fromByteOffset: -1, as: UInt8.self) == 0
        else { return nil }
        return block
    }

    /// The headers as cnats lifts them (the fallback; see `rawHeaderBlock`).
    private static func liftedHeaders(of msg: OpaquePointer) -> NATSHeaders {
        var headers = NATSHeaders()
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var keyCount: Int32 = 0
        guard natsMsgHeader_Keys(msg, &keys, &keyCount) == NATS_OK, let keys else { return headers }
        defer { free(keys) }  // the array is ours; the strings belong to the message
        for index in 0..<Int(keyCount) {
            guard let key = keys[index] else { continue }
            var values: UnsafeMutablePointer<UnsafePointer<CChar>?>?
            var valueCount: Int32 = 0
            guard natsMsgHeader_Values(msg, key, &values, &valueCount) == NATS_OK, let values else { continue }
            defer { free(values) }
            let name = String(cString: key)
            for valueIndex in 0..<Int(valueCount) {
                if let value = values[valueIndex] { headers.add(name, String(cString: value)) }
            }
        }
        return headers
    }

    /// A JetStream status message ("NATS/1.0 408 Request Timeout"): no body, a `Status` header.
    var status: (code: Int, description: String)? {
        guard body.isEmpty, let code = headers["Status"].flatMap(Int.init) else { return nil }
        return (code, headers["Description"] ?? "")
    }
}

/// Builds a `natsMsg` for publishing; the caller destroys it.
func makeCMessage(
    subject: String, reply: String?, headers: NATSHeaders, body: [UInt8]
) throws(NATSError) -> OpaquePointer {
    var msg: OpaquePointer?
    let status = body.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) {
            natsMsg_Create(&msg, subject, reply, $0.baseAddress, Int32($0.count))
        }
    }
    try natsCheck(status, "create message for \(subject)")
    guard let msg else {
        throw NATSError(operation: "create message for \(subject)", origin: .malformedResponse, message: "no message")
    }
    // Shorter names first (stable, so a repeated name keeps the order of its values): cnats 3.4.1's
    // header hash can file a name under a longer one it is a prefix of when the longer one is already
    // there (see `NATSMessage.rawHeaderBlock`); in this order that never happens. cnats writes the
    // block in its hash order anyway, so no order of different names is lost by sorting.
    let ordered = headers.fields.enumerated().sorted {
        ($0.element.name.utf8.count, $0.offset) < ($1.element.name.utf8.count, $1.offset)
    }
    for (_, field) in ordered {
        let status = natsMsgHeader_Add(msg, field.name, field.value)
        if status != NATS_OK {
            natsMsg_Destroy(msg)
            throw NATSError(library: status, operation: "set header \(field.name)")
        }
    }
    return msg
}
