#if canImport(Glibc)
    import Glibc
#endif

/// A failure of the operations layer: a socket call, a path, or a live health socket in the way.
///
/// The description carries the C library's own text (`strerror`) and the path concerned, never a
/// payload.
public struct OperationsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is; stable for callers that branch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }

        /// A system call failed; `errno` says why.
        public static let systemCall = Code("system_call")
        /// Another process answers on the health socket path.
        public static let socketInUse = Code("socket_in_use")
        /// The path exists and is not a socket: we refuse to remove it.
        public static let notASocket = Code("not_a_socket")
        /// A unix socket path longer than `sun_path` can hold, or empty.
        public static let invalidAddress = Code("invalid_address")
        /// The peer did not answer within the timeout.
        public static let timedOut = Code("timed_out")

        public var description: String { name }
    }

    public let code: Code
    /// The failed C call (`bind`, `connect`, …) when `code` is `.systemCall`.
    public let call: String?
    /// `errno` when `code` is `.systemCall`.
    public let errno: Int32?
    public let path: String?
    private let message: String

    init(_ code: Code, path: String? = nil, message: String) {
        self.code = code
        self.call = nil
        self.errno = nil
        self.path = path
        self.message = message
    }

    init(call: String, errno: Int32, path: String?) {
        self.code = errno == EAGAIN || errno == EWOULDBLOCK ? .timedOut : .systemCall
        self.call = call
        self.errno = errno
        self.path = path
        let reason = String(cString: strerror(errno))
        if let path {
            self.message = "\(call) \(path): \(reason)"
        } else {
            self.message = "\(call): \(reason)"
        }
    }

    public var description: String { message }
}

/// The one place a failed C call becomes a Swift error: retries on `EINTR`, throws with `errno`.
@discardableResult
func systemCall<Result: BinaryInteger>(
    _ call: String,
    path: String? = nil,
    _ body: () -> Result
) throws(OperationsError) -> Result {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = Glibc.errno
        if error == EINTR { continue }
        throw OperationsError(call: call, errno: error, path: path)
    }
}
