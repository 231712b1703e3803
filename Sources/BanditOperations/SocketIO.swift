#if canImport(Glibc)
    import Glibc
#endif

/// Blocking unix-socket helpers shared by the health server, its client and the notifier. Every call
/// here blocks: call them from a thread you own, never from the Swift concurrency pool.
enum SocketIO {
    static func unixSocket(_ type: __socket_type) throws(OperationsError) -> Int32 {
        try systemCall("socket") { socket(AF_UNIX, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
    }

    /// Milliseconds left until `deadline`, at least 0, for `poll`.
    static func millisecondsLeft(until deadline: ContinuousClock.Instant) -> Int32 {
        let left = deadline - ContinuousClock.now
        guard left > .zero else { return 0 }
        let milliseconds = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(1, milliseconds))
    }

    /// Waits until `descriptor` is readable or `deadline` passes; returns false on timeout.
    static func waitReadable(_ descriptor: Int32, until deadline: ContinuousClock.Instant) throws(OperationsError)
        -> Bool
    {
        while true {
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = try systemCall("poll") { poll(&entry, 1, millisecondsLeft(until: deadline)) }
            if ready > 0 { return true }
            if ContinuousClock.now >= deadline { return false }
        }
    }

    /// Writes all of `bytes`. `MSG_NOSIGNAL`: a peer that went away yields `EPIPE`, never SIGPIPE.
    static func sendAll(_ descriptor: Int32, _ bytes: some Collection<UInt8>) throws(OperationsError) {
        let buffer = Array(bytes)
        var sent = 0
        while sent < buffer.count {
            let count = try systemCall("send") {
                buffer.withUnsafeBytes { raw in
                    send(descriptor, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                }
            }
            sent += count
        }
    }

    /// Sets `SO_SNDTIMEO` (or `SO_RCVTIMEO`) so a blocking call gives up after `timeout`.
    static func setTimeout(_ descriptor: Int32, option: Int32, _ timeout: Duration) throws(OperationsError) {
        var value = timeval(
            tv_sec: Int(timeout.components.seconds),
            tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000)
        )
        try systemCall("setsockopt") {
            setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
        }
    }
}
