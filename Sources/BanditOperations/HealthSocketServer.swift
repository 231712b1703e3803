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
/// Clients are served concurrently by one thread that polls every open connection (non-blocking
/// sockets): a client is answered as soon as its request line is in, however many others are
/// connected and silent. Each client has `clientTimeout` to send its request and again to take the
/// response. At most `maximumClients` connections are held; one more evicts the oldest (answered
/// with health, as if its time were up), so a flood of silent connections can neither exhaust
/// descriptors nor keep a real client waiting. Responses are written with `MSG_NOSIGNAL`: a client
/// that disconnects early costs an `EPIPE`, never a SIGPIPE.
public final class HealthSocketServer: Sendable {
    public let path: String
    private let health: HealthState
    private let logger: Logger
    private let clientTimeout: Duration
    private let maximumClients: Int

    private struct Running: Sendable {
        var listener: Int32
        var wakeRead: Int32
        var wakeWrite: Int32
        var finished: DispatchSemaphore
        /// Identity of the socket file we bound, so `stop()` never unlinks someone else's.
        var device: UInt64
        var inode: UInt64
    }

    private let running = Mutex<Running?>(nil)

    /// Longest request line read; anything longer is an unknown command.
    static let maximumRequestBytes = 64

    public init(
        path: String,
        health: HealthState,
        logger: Logger = Logger(label: "banditd.health"),
        clientTimeout: Duration = .seconds(1),
        maximumClients: Int = 128
    ) {
        precondition(maximumClients >= 1, "maximumClients must be at least 1")
        self.path = path
        self.health = health
        self.logger = logger
        self.clientTimeout = clientTimeout
        self.maximumClients = maximumClients
    }

    deinit {
        precondition(running.withLock { $0 == nil }, "HealthSocketServer released while running: call stop()")
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
        precondition(running.withLock { $0 == nil }, "HealthSocketServer started twice")

        try removeStaleSocket(address)

        let listener = try SocketIO.unixSocket(SOCK_STREAM)
        var wake: [Int32] = [-1, -1]
        var bound = false
        do {
            try address.withSockaddr { pointer, length throws(OperationsError) in
                try systemCall("bind", path: path) { bind(listener, pointer, length) }
            }
            bound = true
            // Nobody can connect before listen(), so tightening the mode here leaves no window.
            try systemCall("chmod", path: path) { chmod(path, 0o660) }
            var info = stat()
            try systemCall("stat", path: path) { stat(path, &info) }
            let flags = try systemCall("fcntl") { fcntl(listener, F_GETFL) }
            try systemCall("fcntl") { fcntl(listener, F_SETFL, flags | O_NONBLOCK) }
            try systemCall("listen", path: path) { listen(listener, SOMAXCONN) }
            try systemCall("socketpair") {
                socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &wake)
            }

            let state = Running(
                listener: listener,
                wakeRead: wake[0],
                wakeWrite: wake[1],
                finished: DispatchSemaphore(value: 0),
                device: UInt64(info.st_dev),
                inode: UInt64(info.st_ino)
            )
            running.withLock { $0 = state }
            let thread = Thread { [self] in
                acceptLoop(listener: state.listener, wake: state.wakeRead)
                state.finished.signal()
            }
            thread.name = "banditd-health"
            thread.start()
            logger.info("health socket listening", metadata: ["socket.path": "\(path)"])
        } catch {
            close(listener)
            for descriptor in wake where descriptor >= 0 { close(descriptor) }
            // Only a file we bound is ours to remove: a failed bind may mean another process won a race.
            if bound { unlink(path) }
            throw error
        }
    }

    /// Stops accepting, waits for the serving thread, closes the socket and removes its file.
    /// Safe to call more than once.
    public func stop() {
        let taken = running.withLock { value -> Running? in
            let current = value
            value = nil
            return current
        }
        guard let state = taken else { return }
        var byte: UInt8 = 1
        _ = write(state.wakeWrite, &byte, 1)
        state.finished.wait()
        close(state.listener)
        close(state.wakeRead)
        close(state.wakeWrite)
        unlinkIfOurs(state)
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

    private func unlinkIfOurs(_ state: Running) {
        var info = stat()
        guard lstat(path, &info) == 0, UInt64(info.st_dev) == state.device, UInt64(info.st_ino) == state.inode
        else { return }
        unlink(path)
    }

    // MARK: - Serving

    /// One connection: reading its request until `deadline`, then writing `response` until `deadline`.
    private struct Client {
        let descriptor: Int32
        var deadline: ContinuousClock.Instant
        var received: [UInt8] = []
        var response: [UInt8]?
        var sent = 0
        /// The client went away while we wrote (EPIPE, ECONNRESET).
        var gone = false
    }

    private func acceptLoop(listener: Int32, wake: Int32) {
        var clients: [Client] = []
        defer { for client in clients { close(client.descriptor) } }
        while true {
            var entries = [
                pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
            ]
            for client in clients {
                entries.append(
                    pollfd(fd: client.descriptor, events: Int16(client.response == nil ? POLLIN : POLLOUT), revents: 0))
            }
            let timeout = clients.map(\.deadline).min().map(SocketIO.millisecondsLeft(until:)) ?? -1
            if poll(&entries, nfds_t(entries.count), timeout) < 0 {
                if errno == EINTR { continue }
                logger.error("health socket poll failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
                return
            }
            if entries[1].revents != 0 { return }

            // Existing clients first (their entries follow the listener's and the wake pipe's).
            let now = ContinuousClock.now
            var open: [Client] = []
            open.reserveCapacity(clients.count)
            for (index, var client) in clients.enumerated()
            where progress(&client, events: entries[index + 2].revents, now: now) {
                open.append(client)
            }
            clients = open
            if entries[0].revents != 0 { acceptAll(listener, into: &clients) }
        }
    }

    /// Accepts what the listener has queued (a bounded number per round), evicting the oldest
    /// client when `maximumClients` are open.
    private func acceptAll(_ listener: Int32, into clients: inout [Client]) {
        for _ in 0..<maximumClients {
            // Glibc's module does not export accept4; the daemon never execs, so FD_CLOEXEC set right
            // after accept is enough.
            let descriptor = accept(listener, nil, nil)
            if descriptor < 0 {
                let reason = errno
                if reason == EAGAIN || reason == EWOULDBLOCK || reason == EINTR || reason == ECONNABORTED { return }
                logger.warning(
                    "health socket accept failed", metadata: ["error": "\(String(cString: strerror(reason)))"])
                guard (reason == EMFILE || reason == ENFILE) && !clients.isEmpty else {
                    // Nothing of ours to free: back off instead of spinning on a listener that stays readable.
                    usleep(100_000)
                    return
                }
                // Out of descriptors: the oldest client gives its one up, and the next waiting one is accepted.
                var oldest = clients.removeFirst()
                finishSilently(&oldest)
                continue
            }
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            if clients.count >= maximumClients {
                // The oldest connection has been silent the longest (anyone who asked was answered).
                var oldest = clients.removeFirst()
                finishSilently(&oldest)
            }
            clients.append(Client(descriptor: descriptor, deadline: ContinuousClock.now + clientTimeout))
        }
    }

    /// Reads or writes what the socket allows; false once the client is done (and closed).
    private func progress(_ client: inout Client, events: Int16, now: ContinuousClock.Instant) -> Bool {
        if client.response == nil {
            if events != 0 {
                switch readRequest(&client) {
                case .waiting: break
                case .complete: respond(&client, to: requestLine(client.received))
                case .failed:
                    close(client.descriptor)
                    return false
                }
            }
            if client.response == nil && now >= client.deadline {
                // Silence until the deadline means health.
                respond(&client, to: [])
            }
        } else if events != 0 {
            writeResponse(&client)
        }
        guard let response = client.response else { return true }
        if client.sent == response.count {
            discardUnreadInput(client.descriptor)
            close(client.descriptor)
            return false
        }
        if client.gone || now >= client.deadline {
            if !client.gone { logger.debug("health socket client did not take its response in time") }
            close(client.descriptor)
            return false
        }
        return true
    }

    /// An evicted client gets health at once if its socket takes it, then is closed.
    private func finishSilently(_ client: inout Client) {
        respond(&client, to: [])
        if client.sent == client.response?.count { discardUnreadInput(client.descriptor) }
        close(client.descriptor)
    }

    private enum ReadProgress { case waiting, complete, failed }

    /// Reads what is there (non-blocking); complete at a line end, at end of input, or past
    /// `maximumRequestBytes` (an unknown command then).
    private func readRequest(_ client: inout Client) -> ReadProgress {
        var chunk = [UInt8](repeating: 0, count: Self.maximumRequestBytes + 1)
        while client.received.count <= Self.maximumRequestBytes, !client.received.contains(UInt8(ascii: "\n")) {
            let count = chunk.withUnsafeMutableBytes { raw in
                recv(client.descriptor, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT))
            }
            if count == 0 { return .complete }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .waiting }
                logger.debug(
                    "health socket client failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
                return .failed
            }
            client.received += chunk[0..<count]
        }
        return .complete
    }

    /// The first line the client sent, without its line ending; empty when it sent nothing.
    private func requestLine(_ received: [UInt8]) -> [UInt8] {
        var line =
            received.split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false)
            .first.map(Array.init) ?? []
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return line
    }

    private func respond(_ client: inout Client, to request: [UInt8]) {
        client.response = Array(response(to: request).utf8)
        client.deadline = ContinuousClock.now + clientTimeout
        writeResponse(&client)
    }

    /// Writes as much of the response as the socket takes now.
    private func writeResponse(_ client: inout Client) {
        guard let response = client.response else { return }
        while client.sent < response.count {
            let count = response.withUnsafeBytes { raw in
                send(
                    client.descriptor, raw.baseAddress! + client.sent, raw.count - client.sent,
                    Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if count < 0 {
                if errno == EINTR { continue }
                // EPIPE, ECONNRESET: the client went away, nothing more to write.
                if errno != EAGAIN && errno != EWOULDBLOCK { client.gone = true }
                return
            }
            client.sent += count
        }
    }

    /// Reads and drops what the client sent beyond its request line (a bounded amount): closing a
    /// unix socket with unread input resets the connection, and the client would lose the answer.
    private func discardUnreadInput(_ client: Int32) {
        var chunk = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<16 {
            let count = chunk.withUnsafeMutableBytes { raw in
                recv(client, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT))
            }
            if count <= 0 { return }
        }
    }

    func response(to request: [UInt8]) -> String {
        switch String(decoding: request, as: UTF8.self).trimmingCharacters(in: .whitespaces) {
        case "", "health": health.healthJSON() + "\n"
        case "metrics": health.prometheusText()
        default: "{\"ok\":false,\"error\":\"unknown command: send health or metrics\"}\n"
        }
    }
}
