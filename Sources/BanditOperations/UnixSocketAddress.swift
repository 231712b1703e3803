#if canImport(Glibc)
    import Glibc
#endif

/// A `sockaddr_un` for a filesystem path, or for an abstract name (a leading `@`, Linux only).
///
/// For an abstract address the `@` becomes the leading NUL byte and the length passed to the kernel
/// is exact (no trailing NUL): the name is the bytes that follow, nothing more.
struct UnixSocketAddress: Sendable {
    private var storage = sockaddr_un()
    private let length: socklen_t
    /// The address as given (`/run/x.sock` or `@name`), for messages.
    let display: String

    /// Whether the address lives in the abstract namespace (no file on disk).
    var isAbstract: Bool { display.hasPrefix("@") }

    init(_ address: String) throws(OperationsError) {
        display = address
        let bytes = Array(address.utf8)
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        guard !bytes.isEmpty, !bytes.contains(0) else {
            throw OperationsError(.invalidAddress, path: address, message: "invalid unix socket address '\(address)'")
        }
        let abstract = bytes[0] == UInt8(ascii: "@")
        // A path needs room for its NUL terminator; an abstract name does not have one.
        guard abstract ? bytes.count <= capacity : bytes.count < capacity else {
            throw OperationsError(
                .invalidAddress,
                path: address,
                message: "unix socket address '\(address)' is longer than \(capacity - 1) bytes"
            )
        }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            raw.copyBytes(from: bytes)
            if abstract { raw[0] = 0 }
        }
        length = socklen_t(pathOffset + bytes.count + (abstract ? 0 : 1))
    }

    /// Calls `body` with the address as a `sockaddr` pointer and its exact length.
    @discardableResult
    func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(OperationsError) -> Result)
        throws(OperationsError) -> Result
    {
        var copy = storage
        return try withUnsafePointer(to: &copy) { pointer throws(OperationsError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(OperationsError) in
                try body(address, length)
            }
        }
    }
}
