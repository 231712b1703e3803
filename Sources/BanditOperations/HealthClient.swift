import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The client side of the health socket, for `banditd health [--socket PATH]`.
public enum HealthClient {
    /// Sends `command` (`health` or `metrics`) and returns the whole response.
    ///
    /// Blocking, bounded by `timeout` overall: call it from `main` or a thread you own.
    public static func query(
        socketPath: String,
        command: String = "health",
        timeout: Duration = .seconds(5)
    ) throws(OperationsError) -> String {
        let address = try UnixSocketAddress(socketPath)
        let deadline = ContinuousClock.now + timeout
        let descriptor = try SocketIO.unixSocket(SOCK_STREAM)
        defer { close(descriptor) }
        try SocketIO.setTimeout(descriptor, option: SO_SNDTIMEO, timeout)
        try address.withSockaddr { pointer, length throws(OperationsError) in
            try systemCall("connect", path: socketPath) { connect(descriptor, pointer, length) }
        }
        try SocketIO.sendAll(descriptor, Array("\(command)\n".utf8))
        try systemCall("shutdown", path: socketPath) { shutdown(descriptor, Int32(SHUT_WR)) }

        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            guard try SocketIO.waitReadable(descriptor, until: deadline) else {
                throw OperationsError(
                    .timedOut,
                    path: socketPath,
                    message: "no answer from \(socketPath) within \(timeout)"
                )
            }
            let count = try systemCall("recv", path: socketPath) {
                chunk.withUnsafeMutableBytes { raw in recv(descriptor, raw.baseAddress, raw.count, 0) }
            }
            if count == 0 { break }
            response += chunk[0..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }

    /// Whether a health JSON says `"ok":true`; false for anything else, including unreadable JSON.
    public static func isOK(healthJSON: String) -> Bool {
        struct Answer: Decodable { var ok: Bool }
        return (try? JSONDecoder().decode(Answer.self, from: Data(healthJSON.utf8)))?.ok ?? false
    }
}
