import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The protocol of a ``PollingServer``: one request, one response, then the connection closes.
/// Pure: it sees bytes, never sockets.
protocol PolledExchange: Sendable {
    /// Requests longer than this are not read further: `response(to:ended:)` must answer one.
    var maximumRequestBytes: Int { get }
    /// The response once `received` holds a whole request (or more than `maximumRequestBytes`, or
    /// `ended`: the client closed its write side); nil to read more.
    func response(to received: [UInt8], ended: Bool) -> [UInt8]?
    /// The response to a client that has not sent a whole request by its deadline, or that is
    /// evicted to make room; nil closes it without one.
    func responseToSilence(_ received: [UInt8]) -> [UInt8]?
}

/// Serves stream connections on a listening socket from one thread that polls every open
/// connection (all sockets non-blocking): a client is answered as soon as its request is in,
/// however many others are connected and slow or silent. The health socket and the metrics HTTP
/// server share it.
///
/// Each client has `clientTimeout` to send its request and again to take the response. At most
/// `maximumClients` connections are held; one more evicts the oldest (answered with
/// ``PolledExchange/responseToSilence(_:)``), so a flood of silent connections can neither exhaust
/// descriptors nor keep a real client waiting. Responses are written with `MSG_NOSIGNAL`: a client
/// that disconnects early costs an `EPIPE`, never a SIGPIPE.
final class PollingServer: Sendable {
    private let name: String
    private let exchange: any PolledExchange
    private let logger: Logger
    private let clientTimeout: Duration
    private let maximumClients: Int

    private struct Running: Sendable {
        var listener: Int32
        var wakeRead: Int32
        var wakeWrite: Int32
        var finished: DispatchSemaphore
    }

    private let running = Mutex<Running?>(nil)

    /// - Parameter name: what the log lines call it ("health socket").
    init(name: String, exchange: any PolledExchange, logger: Logger, clientTimeout: Duration, maximumClients: Int) {
        precondition(maximumClients >= 1, "maximumClients must be at least 1")
        self.name = name
        self.exchange = exchange
        self.logger = logger
        self.clientTimeout = clientTimeout
        self.maximumClients = maximumClients
    }

    deinit {
        precondition(running.withLock { $0 == nil }, "\(name) released while running: call stop()")
    }

    /// Serves `listener` (bound, listening, non-blocking) on a thread named `threadName`, and owns
    /// it from now on (``stop()`` closes it), also when this throws.
    func start(listener: Int32, threadName: String) throws(OperationsError) {
        precondition(running.withLock { $0 == nil }, "\(name) started twice")
        var wake: [Int32] = [-1, -1]
        do {
            try systemCall("socketpair") {
                socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &wake)
            }
        } catch {
            close(listener)
            throw error
        }
        let state = Running(
            listener: listener, wakeRead: wake[0], wakeWrite: wake[1], finished: DispatchSemaphore(value: 0))
        running.withLock { $0 = state }
        let thread = Thread { [self] in
            serve(listener: state.listener, wake: state.wakeRead)
            state.finished.signal()
        }
        thread.name = threadName
        thread.start()
    }

    /// Stops serving, waits for the thread and closes the listener. True if it was running; safe
    /// to call more than once.
    @discardableResult
    func stop() -> Bool {
        let taken = running.withLock { value -> Running? in
            let current = value
            value = nil
            return current
        }
        guard let state = taken else { return false }
        var byte: UInt8 = 1
        _ = write(state.wakeWrite, &byte, 1)
        state.finished.wait()
        close(state.listener)
        close(state.wakeRead)
        close(state.wakeWrite)
        return true
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

    private func serve(listener: Int32, wake: Int32) {
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
                logger.error("\(name) poll failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
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
                logger.warning("\(name) accept failed", metadata: ["error": "\(String(cString: strerror(reason)))"])
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
                let read = readRequest(&client)
                if read == .failed {
                    close(client.descriptor)
                    return false
                }
                let ended = read == .ended
                if let response = exchange.response(to: client.received, ended: ended) {
                    respond(&client, with: response)
                } else if ended || client.received.count > exchange.maximumRequestBytes {
                    // The exchange left a finished request unanswered: treat it as silence.
                    guard let response = exchange.responseToSilence(client.received) else {
                        close(client.descriptor)
                        return false
                    }
                    respond(&client, with: response)
                }
            }
            if client.response == nil && now >= client.deadline {
                guard let response = exchange.responseToSilence(client.received) else {
                    close(client.descriptor)
                    return false
                }
                respond(&client, with: response)
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
            if !client.gone { logger.debug("\(name) client did not take its response in time") }
            close(client.descriptor)
            return false
        }
        return true
    }

    /// An evicted client gets the answer to silence at once if its socket takes it, then is closed.
    private func finishSilently(_ client: inout Client) {
        if let response = exchange.responseToSilence(client.received) {
            respond(&client, with: response)
            if client.sent == response.count { discardUnreadInput(client.descriptor) }
        }
        close(client.descriptor)
    }

    private enum ReadProgress { case waiting, ended, failed }

    /// Reads what is there (non-blocking), up to one byte past `maximumRequestBytes`.
    private func readRequest(_ client: inout Client) -> ReadProgress {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while client.received.count <= exchange.maximumRequestBytes {
            let wanted = min(chunk.count, exchange.maximumRequestBytes + 1 - client.received.count)
            let count = chunk.withUnsafeMutableBytes { raw in
                recv(client.descriptor, raw.baseAddress, wanted, Int32(MSG_DONTWAIT))
            }
            if count == 0 { return .ended }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .waiting }
                logger.debug("\(name) client failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
                return .failed
            }
            client.received += chunk[0..<count]
        }
        return .waiting
    }

    private func respond(_ client: inout Client, with response: [UInt8]) {
        client.response = response
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

    /// Reads and drops what the client sent beyond its request (a bounded amount): closing a socket
    /// with unread input resets the connection, and the client would lose the answer.
    private func discardUnreadInput(_ client: Int32) {
        var chunk = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<16 {
            let count = chunk.withUnsafeMutableBytes { raw in
                recv(client, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT))
            }
            if count <= 0 { return }
        }
    }
}
