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
        headers = NATSHeaders()
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var keyCount: Int32 = 0
        guard natsMsgHeader_Keys(msg, &keys, &keyCount) == NATS_OK, let keys else { return }
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
    for field in headers {
        let status = natsMsgHeader_Add(msg, field.name, field.value)
        if status != NATS_OK {
            natsMsg_Destroy(msg)
            throw NATSError(library: status, operation: "set header \(field.name)")
        }
    }
    return msg
}
