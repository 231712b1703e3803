import Foundation
import Synchronization
import TestServers

#if canImport(Glibc)
    import Glibc
#endif

/// Runs one `banditd run` the way systemd runs `systemd/banditd.service`: `Type=notify` (a
/// notify socket of its own; the watchdog is armed at READY=1), `WatchdogSec` (no WATCHDOG=1
/// within it → SIGABRT), `TimeoutAbortSec` (still alive that long after the SIGABRT → SIGKILL),
/// `Restart=on-failure` with `RestartSec=2s` (any death by a signal or non-zero exit is restarted,
/// except status 78, `RestartPreventExitStatus=78`), `TimeoutStartSec` (no READY=1 → SIGTERM).
/// Only the timings are shorter where the scenario says so.
final class WatchdogSupervisor: Sendable {
    struct Settings: Sendable {
        var watchdog: Duration
        var abortTimeout: Duration
        var restartDelay: Duration = .seconds(2)
        var startTimeout: Duration = .seconds(90)
    }

    /// What the supervisor saw and did.
    struct Record: Sendable {
        var starts = 0
        var readies = 0
        /// SIGABRTs sent because no WATCHDOG=1 came within `watchdog`.
        var watchdogAborts = 0
        /// SIGKILLs sent because a SIGABRTed daemon was still alive after `abortTimeout`.
        var abortKills = 0
        var startTimeouts = 0
        /// How each run ended (`exit 0`, `signal 9`, …).
        var exits: [String] = []
        /// The longest time between two WATCHDOG=1 (or READY=1 and the first one) of one run, over
        /// the runs the watchdog did not abort.
        var largestPingGap: Duration = .zero
        /// Set when the supervisor gave up (status 78, or a clean exit it must not restart).
        var gaveUp: String?
    }

    private struct State {
        var child: ChildProcess?
        var record = Record()
        var stopping = false
    }

    let settings: Settings
    let socketPath: String
    private let binary: String
    private let environment: [String: String]
    private let logDirectory: TemporaryDirectory
    private let fd: Int32
    private let state = Mutex(State())
    private let finished = DispatchSemaphore(value: 0)

    /// Binds the notify socket and starts supervising at once.
    init(binary: String, environment: [String: String], directory: TemporaryDirectory, settings: Settings) throws {
        self.binary = binary
        self.settings = settings
        self.logDirectory = directory
        socketPath = directory.appending("notify.sock")
        var environment = environment
        environment["NOTIFY_SOCKET"] = socketPath
        environment["WATCHDOG_USEC"] = "\(settings.watchdog.components.seconds * 1_000_000)"
        self.environment = environment
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw ChaosError("notify socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = socketPath
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() where index < buffer.count - 1 { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            Glibc.close(fd)
            throw ChaosError("notify socket bind: \(String(cString: strerror(errno)))")
        }
        let thread = Thread { [self] in
            supervise()
            finished.signal()
        }
        thread.name = "chaos-supervisor"
        thread.start()
    }

    var record: Record { state.withLock { $0.record } }

    /// Sends `signal` to the running daemon (SIGKILL for a kill -9, SIGSTOP to wedge it).
    func signal(_ signal: Int32) {
        state.withLock { $0.child }?.signal(signal)
    }

    /// Waits until the daemon has been ready `count` times in all; false on timeout.
    func waitUntilReady(count: Int, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if record.readies >= count { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// Stops the daemon (SIGTERM, as `systemctl stop`) and the supervision.
    func stop() {
        state.withLock { $0.stopping = true }
        finished.wait()
        Glibc.close(fd)
        unlink(socketPath)
    }

    // MARK: - The supervision loop (its own thread)

    private func supervise() {
        var run = 0
        while !state.withLock({ $0.stopping }) {
            _ = receive()  // nothing from a previous run counts for the next one
            run += 1
            let child: ChildProcess
            do {
                child = try ChildProcess(
                    binary, arguments: ["run"], environment: environment,
                    logFile: logDirectory.appending("supervised-\(run).log"))
            } catch {
                state.withLock { $0.record.gaveUp = "cannot start banditd: \(error)" }
                return
            }
            state.withLock {
                $0.child = child
                $0.record.starts += 1
            }
            let status = watch(child)
            let ending = status.map { $0 > 128 ? "signal \($0 - 128)" : "exit \($0)" } ?? "unknown"
            state.withLock {
                $0.child = nil
                $0.record.exits.append(ending)
            }
            if state.withLock({ $0.stopping }) { return }
            if status == 78 || status == 0 {
                state.withLock { $0.record.gaveUp = "not restarted after \(ending)" }
                return
            }
            // RestartSec.
            let restartAt = ContinuousClock.now + settings.restartDelay
            while ContinuousClock.now < restartAt, !state.withLock({ $0.stopping }) {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
    }

    /// Enforces the watchdog and the start timeout on one run until it exits; returns its status.
    private func watch(_ child: ChildProcess) -> Int32? {
        let started = ContinuousClock.now
        var readyAt: ContinuousClock.Instant?
        var lastPing: ContinuousClock.Instant?
        var abortedAt: ContinuousClock.Instant?
        var killedAfterAbort = false
        var terminatedAt: ContinuousClock.Instant?
        var largestGap: Duration = .zero
        defer {
            if abortedAt == nil {
                state.withLock { $0.record.largestPingGap = max($0.record.largestPingGap, largestGap) }
            }
        }
        while child.isRunning {
            let now = ContinuousClock.now
            for line in receive() {
                if line == "READY=1", readyAt == nil {
                    readyAt = now
                    lastPing = now
                    state.withLock { $0.record.readies += 1 }
                } else if line == "WATCHDOG=1", let last = lastPing {
                    largestGap = max(largestGap, now - last)
                    lastPing = now
                }
            }
            if state.withLock({ $0.stopping }), terminatedAt == nil {
                child.signal(SIGTERM)
                terminatedAt = now
            }
            if let terminatedAt, now - terminatedAt > .seconds(30) { child.signal(SIGKILL) }
            if readyAt == nil, terminatedAt == nil, now - started > settings.startTimeout {
                state.withLock { $0.record.startTimeouts += 1 }
                child.signal(SIGTERM)
                terminatedAt = now
            }
            if let last = lastPing, abortedAt == nil, terminatedAt == nil, now - last > settings.watchdog {
                state.withLock { $0.record.watchdogAborts += 1 }
                child.signal(SIGABRT)
                abortedAt = now
            }
            if let abortedAt, !killedAfterAbort, now - abortedAt > settings.abortTimeout {
                state.withLock { $0.record.abortKills += 1 }
                child.signal(SIGKILL)
                killedAfterAbort = true
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return child.exitStatus
    }

    /// The lines of every datagram waiting on the notify socket.
    private func receive() -> [String] {
        var lines: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard count > 0 else { return lines }
            lines += String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\n").map(String.init)
        }
    }
}
