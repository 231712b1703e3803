import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Process-wide list of server processes that must not outlive the test run.
///
/// Every server helper registers its process id here while it runs. When the test process exits
/// normally (`atexit`) or dies from a crash signal (SIGSEGV, SIGILL, SIGTRAP, SIGABRT, SIGBUS,
/// SIGFPE) or from SIGINT/SIGTERM, each registered process still in the list receives its
/// registered signal (SIGKILL by default; PostgreSQL's postmaster gets SIGQUIT, its "immediate
/// shutdown", so that it takes its backends down with it). The previous signal disposition is then
/// restored and the signal re-raised, so the Swift backtracer and the exit status are unchanged.
///
/// A helper that stops its server cleanly calls ``unregister(_:)`` first.
public enum ProcessRegistry {
    /// Identifies one registration.
    public struct Token: Sendable, Hashable {
        fileprivate let slot: Int
    }

    /// Registers `pid` to receive `signal` if the test process exits or crashes while it is
    /// registered. Installs the exit and crash hooks on first use.
    public static func register(pid: Int32, signal: Int32 = SIGKILL) -> Token {
        installHooksOnce()
        return lock.withLock { _ in
            for slot in 0..<capacity where slots[2 * slot] == 0 {
                slots[2 * slot + 1] = signal
                slots[2 * slot] = pid
                return Token(slot: slot)
            }
            preconditionFailure("ProcessRegistry is full (\(capacity) live server processes)")
        }
    }

    /// Replaces the process id of a registration (after a server restart gives it a new pid).
    public static func update(_ token: Token, pid: Int32) {
        lock.withLock { _ in slots[2 * token.slot] = pid }
    }

    /// Forgets a registration: the process has been stopped by its owner.
    public static func unregister(_ token: Token) {
        lock.withLock { _ in slots[2 * token.slot] = 0 }
    }

    /// Signals every registered process now. Called by the hooks; async-signal-safe (reads a fixed
    /// buffer and calls `kill`).
    public static func signalAll() {
        for slot in 0..<capacity {
            let pid = slots[2 * slot]
            if pid > 0 {
                _ = kill(pid, slots[2 * slot + 1])
            }
        }
    }

    private static let capacity = 128

    // Pairs (pid, signal), pid 0 = free. A fixed C buffer rather than a Swift collection so that the
    // crash-signal handler can read it without allocating or locking.
    // Safety: written only under `lock`; read lock-free by the signal handler, where a torn read is
    // impossible (aligned Int32 stores) and a stale read at worst signals an exited process.
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<Int32> = {
        let buffer = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * 128)
        buffer.initialize(repeating: 0, count: 2 * 128)
        return buffer
    }()

    private static let lock = Mutex<Bool>(false)

    private static let hookedSignals: [Int32] = [SIGSEGV, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGINT, SIGTERM]

    // The dispositions in force before ours, restored by the handler before it re-raises.
    // Safety: written once under `lock` before the handlers are installed, then only read.
    nonisolated(unsafe) private static let previousActions: UnsafeMutablePointer<sigaction> = {
        let buffer = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)
        buffer.initialize(repeating: sigaction(), count: 65)
        return buffer
    }()

    private static func installHooksOnce() {
        lock.withLock { installed in
            guard !installed else { return }
            installed = true
            _ = slots
            atexit { ProcessRegistry.signalAll() }
            for signalNumber in hookedSignals {
                var action = sigaction()
                #if canImport(Glibc)
                    action.__sigaction_handler.sa_handler = { received in ProcessRegistry.handleFatal(received) }
                #else
                    action.__sigaction_u.__sa_handler = { received in ProcessRegistry.handleFatal(received) }
                #endif
                sigemptyset(&action.sa_mask)
                action.sa_flags = 0
                sigaction(signalNumber, &action, previousActions + Int(signalNumber))
            }
        }
    }

    private static func handleFatal(_ signalNumber: Int32) {
        signalAll()
        sigaction(signalNumber, previousActions + Int(signalNumber), nil)
        raise(signalNumber)
    }
}
