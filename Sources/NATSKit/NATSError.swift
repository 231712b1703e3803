import CNATS

/// A failure from the NATS C client or from the JetStream API, carrying the library's or the
/// server's own text. Descriptions never include credentials: cnats error texts name statuses
/// and subjects, not connection secrets.
public struct NATSError: Error, Sendable, CustomStringConvertible {
    public enum Origin: Sendable, Equatable {
        /// A cnats call returned a non-OK `natsStatus` (its raw value).
        case library(status: UInt32)
        /// The JetStream API answered with an error object (`code`, `err_code`).
        case jetStream(code: Int, errorCode: Int)
        /// A pull request ended with a status the protocol treats as fatal (e.g. 409 Consumer Deleted).
        case pullStatus(code: Int)
        /// The server's answer could not be understood.
        case malformedResponse
    }

    /// What we were doing, e.g. "connect" or "stream info SIGNALS".
    public let operation: String
    public let origin: Origin
    /// The C library's status text and last-error detail, or the server's description.
    public let message: String

    public init(operation: String, origin: Origin, message: String) {
        self.operation = operation
        self.origin = origin
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }

    /// The call waited its full timeout (a fetch that saw no message is not an error).
    public var isTimeout: Bool { origin == .library(status: NATS_TIMEOUT.rawValue) }

    /// Nobody was listening on the subject (no stream bound, or JetStream disabled).
    public var isNoResponders: Bool { origin == .library(status: NATS_NO_RESPONDERS.rawValue) }

    /// No server could be reached (refused, down): worth retrying, unlike an authorization error.
    public var isNoServer: Bool { origin == .library(status: NATS_NO_SERVER.rawValue) }

    /// The message (headers + body) is larger than the server's max_payload.
    public var isMaxPayload: Bool { origin == .library(status: NATS_MAX_PAYLOAD.rawValue) }

    /// The connection is closed for good (not merely reconnecting).
    public var isConnectionClosed: Bool { origin == .library(status: NATS_CONNECTION_CLOSED.rawValue) }

    /// JetStream said "stream not found" (10059) or "consumer not found" (10014).
    public var isNotFound: Bool {
        if case .jetStream(let code, let errorCode) = origin {
            return code == 404 || errorCode == 10059 || errorCode == 10014
        }
        return false
    }

    /// A transient condition: the broker or the path to it may come back (timeouts, no
    /// responders during a leader election, disconnected, connection lost).
    public var isTransient: Bool {
        switch origin {
        case .library(let status):
            return [
                NATS_TIMEOUT, NATS_NO_RESPONDERS, NATS_CONNECTION_DISCONNECTED, NATS_CONNECTION_CLOSED,
                NATS_IO_ERROR, NATS_NO_SERVER, NATS_STALE_CONNECTION,
            ].contains { $0.rawValue == status }
        case .jetStream(let code, _):
            return code == 503 || code == 408
        case .pullStatus(let code):
            return code == 503
        case .malformedResponse:
            return false
        }
    }
}

/// The one chokepoint that turns a cnats status into a Swift error. The detail comes from
/// `nats_GetLastError`, which is thread-local, so it must be read on the calling thread right
/// after the failed call.
@inline(__always)
func natsCheck(_ status: natsStatus, _ operation: @autoclosure () -> String) throws(NATSError) {
    guard status != NATS_OK else { return }
    throw NATSError(library: status, operation: operation())
}

extension NATSError {
    init(library status: natsStatus, operation: String) {
        let text = String(cString: natsStatus_GetText(status))
        var lastStatus = NATS_OK
        var detail: String?
        if let last = nats_GetLastError(&lastStatus), lastStatus == status {
            let lastText = String(cString: last)
            if !lastText.isEmpty && lastText != text { detail = lastText }
        }
        self.init(
            operation: operation,
            origin: .library(status: status.rawValue),
            message: detail.map { "\(text) (\($0))" } ?? text
        )
    }
}
