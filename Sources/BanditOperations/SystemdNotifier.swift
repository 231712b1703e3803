import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// sd_notify without libsystemd: each call sends one datagram to `$NOTIFY_SOCKET`.
///
/// `NOTIFY_SOCKET` is a filesystem path or, with a leading `@`, a name in Linux's abstract namespace.
/// Without it (not started by systemd, or `Type=` other than notify) every call is a no-op.
public struct SystemdNotifier: Sendable {
    private let address: UnixSocketAddress?

    /// Whether `NOTIFY_SOCKET` was set, i.e. whether calls send anything.
    public var isEnabled: Bool { address != nil }

    /// Reads `NOTIFY_SOCKET` from `environment`; throws when it is set but not a usable address.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws(OperationsError) {
        try self.init(socket: environment["NOTIFY_SOCKET"])
    }

    /// Sends to `socket` (a path or `@name`); nil or empty disables the notifier.
    public init(socket: String?) throws(OperationsError) {
        guard let socket, !socket.isEmpty else {
            address = nil
            return
        }
        address = try UnixSocketAddress(socket)
    }

    /// Sends `message` (newline-separated `KEY=value` assignments) as one datagram. Returns false
    /// when the notifier is disabled. Blocks only as long as a local `sendto` does.
    @discardableResult
    public func notify(_ message: String) throws(OperationsError) -> Bool {
        guard let address else { return false }
        let descriptor = try SocketIO.unixSocket(SOCK_DGRAM)
        defer { close(descriptor) }
        let bytes = Array(message.utf8)
        try address.withSockaddr { pointer, length throws(OperationsError) in
            try systemCall("sendto", path: address.display) {
                bytes.withUnsafeBytes { raw in
                    sendto(descriptor, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), pointer, length)
                }
            }
        }
        return true
    }

    /// `READY=1` with a `STATUS=` line.
    @discardableResult
    public func ready(status: String) throws(OperationsError) -> Bool {
        try notify("READY=1\nSTATUS=\(Self.oneLine(status))")
    }

    /// A `STATUS=` line for `systemctl status`.
    @discardableResult
    public func status(_ text: String) throws(OperationsError) -> Bool {
        try notify("STATUS=\(Self.oneLine(text))")
    }

    /// `STOPPING=1`, with a `STATUS=` line when given.
    @discardableResult
    public func stopping(status: String? = nil) throws(OperationsError) -> Bool {
        try notify(status.map { "STOPPING=1\nSTATUS=\(Self.oneLine($0))" } ?? "STOPPING=1")
    }

    /// `WATCHDOG=1`. Send it through ``ProgressWatchdog``, which sends only while loops progress.
    @discardableResult
    public func watchdog() throws(OperationsError) -> Bool {
        try notify("WATCHDOG=1")
    }

    /// A status is one assignment: a newline inside it would start another.
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}
