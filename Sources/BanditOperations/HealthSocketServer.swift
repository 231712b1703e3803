import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The health socket of CONTRACT section 7: a unix stream socket (mode 0660) that answers one
/// request per connection.
///
/// A client sends `health\n` or `metrics\n`; an empty line, closing its write side, or sending
/// nothing for `clientTimeout` all mean `health`. Anything else gets a one-line JSON error. The
/// server writes the response and closes.
///
/// Clients are served concurrently by a ``PollingServer``: one thread polls every open connection
/// (non-blocking sockets), so a client is answered as soon as its request line is in, however many
/// others are connected and silent. Each client has `clientTimeout` to send its request and again
/// to take the response. At most `maximumClients` connections are held; one more evicts the oldest
/// (answered with health, as if its time were up).
public final class HealthSocketServer: Sendable {
    public let path: String
    private let logger: Logger
    private let server: PollingServer

    /// Identity of the socket file we bound, so `stop()` never unlinks someone else's.
    private struct BoundFile: Sendable {
        var device: UInt64
        var inode: UInt64
    }

    private let bound = Mutex<BoundFile?>(nil)

    /// Longest request line read; anything longer is an unknown command.
    static let maximumRequestBytes = 64

    public init(
        path: String,
        health: HealthState,
        logger: Logger = Logger(label: "banditd.health"),
        clientTimeout: Duration = .seconds(1),
        maximumClients: Int = 128
    ) {
        self.path = path
        self.logger = logger
        server = PollingServer(
            name: "health socket", exchange: HealthSocketExchange(health: health), logger: logger,
            clientTimeout: clientTimeout, maximumClients: maximumClients)
    }

    /// Binds the socket and starts serving on a thread of its own.
    ///
    /// A socket file left by a crashed run (nothing accepts on it) is replaced. Throws
    /// ``OperationsError/Code/socketInUse`` when another process answers on `path`, and
    /// ``OperationsError/Code/notASocket`` when `path` is some other kind of file.
    public func start() throws(OperationsError) {
        let address = try UnixSocketAddress(path)
        guard !address.isAbstract else {
            throw OperationsError(
                .invalidAddress, path: path, message: "the health socket must be a file path, not \(path)")
        }
        precondition(bound.withLock { $0 == nil }, "HealthSocketServer started twice")

        try removeStaleSocket(address)

        let listener = try SocketIO.unixSocket(SOCK_STREAM)
        var didBind = false
        do {
            try address.withSockaddr { pointer, length throws(OperationsError) in
                try systemCall("bind", path: path) { bind(listener, pointer, length) }
            }
            didBind = true
            // Nobody can connect before listen(), so tightening the mode here leaves no window.
            try systemCall("chmod", path: path) { chmod(path, 0o660) }
            var info = stat()
            try systemCall("stat", path: path) { stat(path, &info) }
            let flags = try systemCall("fcntl") { fcntl(listener, F_GETFL) }
            try systemCall("fcntl") { fcntl(listener, F_SETFL, flags | O_NONBLOCK) }
            try systemCall("listen", path: path) { listen(listener, SOMAXCONN) }
            bound.withLock { $0 = BoundFile(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) }
        } catch {
            close(listener)
            // Only a file we bound is ours to remove: a failed bind may mean another process won a race.
            if didBind { unlink(path) }
            throw error
        }
        do {
            try server.start(listener: listener, threadName: "banditd-health")
        } catch {
            unlinkIfOurs()
            throw error
        }
        logger.info("health socket listening", metadata: ["socket.path": "\(path)"])
    }

    /// Stops accepting, waits for the serving thread, closes the socket and removes its file.
    /// Safe to call more than once.
    public func stop() {
        guard server.stop() else { return }
        unlinkIfOurs()
        logger.info("health socket closed", metadata: ["socket.path": "\(path)"])
    }

    // MARK: - Start-up
    /// Refuses a live socket, removes a stale one, leaves any other file alone (and throws).
    private func removeStaleSocket(_ address: UnixSocketAddress) throws(OperationsError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw OperationsError(
                .notASocket, path: path, message: "\(path) exists and is not a socket; not removing it")
        }
        let probe = try SocketIO.unixSocket(SOCK_STREAM)
        defer { close(probe) }
        // A live server with a full backlog makes connect() wait; bound the wait, and count a
        // timeout as "someone is there".
        try SocketIO.setTimeout(probe, option: SO_SNDTIMEO, .seconds(1))
        let reason = try address.withSockaddr { pointer, length in
            connect(probe, pointer, length) == 0 ? 0 : Glibc.errno
        }
        switch reason {
        case ECONNREFUSED, ENOENT:
            break  // stale: the file stayed, its listener is gone
        case 0, EAGAIN, EINPROGRESS:
            throw OperationsError(
                .socketInUse,
                path: path,
                message: "another banditd is serving \(path); stop it first or choose another BANDITD_HEALTH_SOCKET"
            )
        default:
            throw OperationsError(call: "connect", errno: reason, path: path)
        }
        logger.notice("removing stale health socket", metadata: ["socket.path": "\(path)"])
        if unlink(path) != 0 && errno != ENOENT {
            throw OperationsError(call: "unlink", errno: errno, path: path)
        }
    }

    private func unlinkIfOurs() {
        guard
            let file = bound.withLock({ value -> BoundFile? in
                defer { value = nil }
                return value
            })
        else { return }
        var info = stat()
        guard lstat(path, &info) == 0, UInt64(info.st_dev) == file.device, UInt64(info.st_ino) == file.inode
        else { return }
        unlink(path)
    }
}
