import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Raw socket helpers written independently of the module's own, so the tests check the wire, not
/// the module against itself.
enum TestSockets {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ call: String) { description = "\(call): \(String(cString: strerror(errno)))" }
    }

    /// `sockaddr_un` for `path`, or for an abstract name when `abstract` (no leading NUL in `name`).
    static func withAddress<T>(_ name: String, abstract: Bool, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = (abstract ? [0] : []) + Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(
            MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count + (abstract ? 0 : 1))
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    static func waitReadable(_ descriptor: Int32, timeout: Duration) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(
            timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return poll(&entry, 1, milliseconds) > 0
    }
}

/// A stream client that can do what odd clients do: send nothing, half-close, vanish.
final class RawClient {
    let descriptor: Int32

    init(path: String) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestSockets.Failure("socket") }
        self.descriptor = descriptor
        let result = TestSockets.withAddress(path, abstract: false) { connect(descriptor, $0, $1) }
        guard result == 0 else {
            let failure = TestSockets.Failure("connect")
            Glibc.close(descriptor)
            throw failure
        }
    }

    /// A TCP connection to `host` (an IP literal) and `port`.
    init(host: String, port: UInt16) throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let info = found?.pointee else {
            throw TestSockets.Failure("getaddrinfo \(host)")
        }
        defer { freeaddrinfo(found) }
        let descriptor = socket(info.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestSockets.Failure("socket") }
        self.descriptor = descriptor
        guard connect(descriptor, info.ai_addr, info.ai_addrlen) == 0 else {
            let failure = TestSockets.Failure("connect \(host):\(port)")
            Glibc.close(descriptor)
            throw failure
        }
    }

    deinit { Glibc.close(descriptor) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Glibc.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            throw TestSockets.Failure("send")
        }
    }

    func shutdownWrite() {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Everything until the server closes; throws when it does not close within `timeout`.
    func readToEnd(timeout: Duration = .seconds(5)) throws -> String {
        let deadline = ContinuousClock.now + timeout
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero, TestSockets.waitReadable(descriptor, timeout: left) else {
                throw TestSockets.Failure("no end of response within \(timeout)")
            }
            let count = recv(descriptor, &chunk, chunk.count, 0)
            guard count >= 0 else { throw TestSockets.Failure("recv") }
            if count == 0 { return String(decoding: received, as: UTF8.self) }
            received += chunk[0..<count]
        }
    }
}

/// A datagram socket bound by the test, standing in for systemd's notification socket: it records
/// every datagram in order.
final class NotifyReceiver {
    let descriptor: Int32
    /// What to put in `NOTIFY_SOCKET`.
    let notifySocket: String
    private let path: String?

    /// Binds `path` on disk.
    init(path: String) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        self.descriptor = descriptor
        let result = TestSockets.withAddress(path, abstract: false) { bind(descriptor, $0, $1) }
        guard descriptor >= 0, result == 0 else { throw TestSockets.Failure("bind \(path)") }
        self.path = path
        notifySocket = path
    }

    /// Binds the abstract name `name` (reached as `@name`).
    init(abstractName name: String) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        self.descriptor = descriptor
        let result = TestSockets.withAddress(name, abstract: true) { bind(descriptor, $0, $1) }
        guard descriptor >= 0, result == 0 else { throw TestSockets.Failure("bind @\(name)") }
        path = nil
        notifySocket = "@" + name
    }

    deinit {
        Glibc.close(descriptor)
        if let path { unlink(path) }
    }

    /// The next datagram, or nil when none arrives within `timeout`.
    func next(timeout: Duration = .seconds(2)) -> String? {
        guard TestSockets.waitReadable(descriptor, timeout: timeout) else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Every datagram already queued.
    func drain() -> [String] {
        var messages: [String] = []
        while let message = next(timeout: .zero) { messages.append(message) }
        return messages
    }
}

/// A monotonic time source the test moves by hand.
final class ManualTime: Sendable {
    private let current = Mutex(Duration.zero)

    var now: @Sendable () -> Duration { { [self] in current.withLock { $0 } } }

    func advance(by duration: Duration) {
        current.withLock { $0 += duration }
    }
}
