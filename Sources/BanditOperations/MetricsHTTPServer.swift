import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `metrics.listen` of CONTRACT section 11: a small HTTP/1.1 server for `/metrics` and `/healthz`
/// (see ``MetricsHTTPExchange``), served like the health socket by a ``PollingServer``: one thread,
/// non-blocking sockets, a deadline per client and a connection cap, so slow or silent clients
/// cannot keep a scrape waiting.
public final class MetricsHTTPServer: Sendable {
    /// The IP literal (or `localhost`) and port to listen on; port 0 takes a free one.
    public let host: String
    public let port: UInt16
    private let logger: Logger
    private let server: PollingServer
    private let boundPort = Mutex<UInt16?>(nil)

    public init(
        host: String,
        port: UInt16,
        health: HealthState,
        logger: Logger = Logger(label: "banditd.metrics"),
        clientTimeout: Duration = .seconds(5),
        maximumClients: Int = 64
    ) {
        self.host = host
        self.port = port
        self.logger = logger
        server = PollingServer(
            name: "metrics HTTP server", exchange: MetricsHTTPExchange(health: health), logger: logger,
            clientTimeout: clientTimeout, maximumClients: maximumClients)
    }

    /// `host:port` as it is written (IPv6 in brackets), with the port actually bound once started.
    public var address: String {
        let port = boundPort.withLock { $0 } ?? self.port
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The port listened on (the one the kernel chose when `port` is 0); nil before ``start()``.
    public var listeningPort: UInt16? { boundPort.withLock { $0 } }

    /// Binds, listens and starts serving on a thread of its own. A port another process holds is
    /// an error (`bind: Address already in use`), never a silent second choice.
    public func start() throws(OperationsError) {
        let listener = try Self.listen(host: host, port: port)
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port =
            named == 0
            ? withUnsafeBytes(of: address) { raw -> UInt16 in
                // sin_port and sin6_port sit at the same offset, in network byte order.
                UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
            } : self.port
        try server.start(listener: listener, threadName: "banditd-metrics")
        boundPort.withLock { $0 = port }
        logger.info("metrics listening", metadata: ["metrics.address": "\(address)"])
    }

    /// Stops accepting, waits for the serving thread and closes the socket. Safe to call twice.
    public func stop() {
        guard server.stop() else { return }
        logger.info("metrics closed", metadata: ["metrics.address": "\(address)"])
    }

    /// A bound, listening, non-blocking TCP socket on the first address `host` names (no name is
    /// looked up in DNS: `host` is an IP literal or `localhost`).
    private static func listen(host: String, port: UInt16) throws(OperationsError) -> Int32 {
        let display = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE | (host == "localhost" ? 0 : AI_NUMERICHOST)
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &found)
        guard status == 0, let first = found else {
            throw OperationsError(
                .invalidAddress, path: display,
                message: "metrics.listen \(display): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(found) }
        let info = first.pointee
        let listener = try systemCall("socket", path: display) {
            socket(info.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            var one: Int32 = 1
            // A restart must not wait for the old connections' TIME_WAIT to end.
            try systemCall("setsockopt", path: display) {
                setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            try systemCall("bind", path: display) { bind(listener, info.ai_addr, info.ai_addrlen) }
            let flags = try systemCall("fcntl") { fcntl(listener, F_GETFL) }
            try systemCall("fcntl") { fcntl(listener, F_SETFL, flags | O_NONBLOCK) }
            try systemCall("listen", path: display) { Glibc.listen(listener, SOMAXCONN) }
        } catch {
            close(listener)
            throw error
        }
        return listener
    }
}
