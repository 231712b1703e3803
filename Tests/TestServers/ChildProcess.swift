import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process started by the tests, with stdout and stderr appended to a log file.
///
/// Spawned with `posix_spawn` and reaped with `waitpid`, not with Foundation's `Process`: on Linux
/// `Process` only notices an exit when every holder of an inherited descriptor has closed it, so
/// a command that leaves a daemon behind (`pg_ctl start`) never "exits". The child gets a clean
/// signal mask, default dispositions, `/dev/null` as stdin, and none of our other descriptors.
///
/// A long-running child is registered with ``ProcessRegistry`` while it runs, so it is killed even
/// if the test process crashes. Stop it with ``stop(timeout:)`` (SIGTERM, wait, then SIGKILL).
public final class ChildProcess: Sendable {
    public let executable: String
    public let arguments: [String]
    /// Where the child's stdout and stderr go.
    public let logFile: String
    /// The child's process id.
    public let pid: Int32

    private struct State {
        var exitStatus: Int32?
        var registration: ProcessRegistry.Token?
    }
    private let state: Mutex<State>

    /// Starts `executable` with `arguments`.
    ///
    /// - Parameters:
    ///   - environment: the child's whole environment; `nil` inherits ours.
    ///   - logFile: created if missing, appended to; stdout and stderr both go there.
    ///   - currentDirectory: the child's working directory (default: the log file's directory).
    ///   - runAs: when we are root, run the child as this user through `runuser -u USER --`.
    ///     Signals then reach `runuser`, which forwards SIGTERM but cannot forward SIGKILL, so use
    ///     this for commands that run to completion (`initdb`, `pg_ctl`), not for servers.
    ///   - register: register with ``ProcessRegistry`` so a crash of the tests kills the child.
    public init(
        _ executable: String,
        arguments: [String],
        environment: [String: String]? = nil,
        logFile: String,
        currentDirectory: String? = nil,
        runAs user: String? = nil,
        register: Bool = true
    ) throws {
        var launchPath = executable
        var launchArguments = arguments
        if let user, geteuid() == 0 {
            launchPath = try Executable.locate("runuser", environmentOverride: "BANDITD_TEST_RUNUSER")
            launchArguments = ["-u", user, "--", executable] + arguments
        }
        let directory = currentDirectory ?? (logFile as NSString).deletingLastPathComponent
        let environmentStrings = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        try ChildProcess.addChdir(&actions, directory)
        ChildProcess.addCloseFrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaultSignals = sigset_t()
        sigfillset(&defaultSignals)
        sigdelset(&defaultSignals, SIGKILL)
        sigdelset(&defaultSignals, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var childPID: pid_t = 0
        let result = ChildProcess.withCStrings([launchPath] + launchArguments) { argv in
            ChildProcess.withCStrings(environmentStrings) { envp in
                posix_spawn(&childPID, launchPath, &actions, &attributes, argv, envp)
            }
        }
        guard result == 0 else {
            throw TestSupportError("could not start \(executable): \(String(cString: strerror(result)))")
        }
        self.executable = executable
        self.arguments = arguments
        self.logFile = logFile
        self.pid = childPID
        self.state = Mutex(State(registration: register ? ProcessRegistry.register(pid: childPID) : nil))
    }

    /// Runs a command to completion and returns its output (stdout and stderr, as logged).
    ///
    /// Throws, with the output in the message, when it exits non-zero or outlives `timeout`.
    @discardableResult
    public static func run(
        _ executable: String,
        arguments: [String],
        environment: [String: String]? = nil,
        logFile: String,
        currentDirectory: String? = nil,
        runAs user: String? = nil,
        timeout: Duration = .seconds(120)
    ) throws -> String {
        let before = (try? FileManager.default.attributesOfItem(atPath: logFile)[.size] as? Int) ?? 0
        let child = try ChildProcess(
            executable, arguments: arguments, environment: environment, logFile: logFile,
            currentDirectory: currentDirectory, runAs: user, register: true)
        let status = child.waitForExit(timeout: timeout)
        child.stop(timeout: .seconds(5))
        let output = child.log(from: before)
        guard let status else {
            throw TestSupportError("\(child.commandLine) did not finish within \(timeout); output:\n\(output)")
        }
        guard status == 0 else {
            throw TestSupportError("\(child.commandLine) exited with status \(status); output:\n\(output)")
        }
        return output
    }

    /// `executable arguments…`, for messages.
    public var commandLine: String {
        ([executable] + arguments).joined(separator: " ")
    }

    /// Whether the child is still running (reaps it once it has exited).
    public var isRunning: Bool {
        exitStatus == nil
    }

    /// The exit status (128 + signal number when killed by a signal) once the child has exited.
    public var exitStatus: Int32? {
        state.withLock { state in
            if state.exitStatus == nil {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    let signalled = status & 0x7f
                    state.exitStatus = signalled == 0 ? (status >> 8) & 0xff : 128 + signalled
                    if let token = state.registration { ProcessRegistry.unregister(token) }
                    state.registration = nil
                }
            }
            return state.exitStatus
        }
    }

    /// Sends `signal` (SIGTERM by default) to the child if it still runs.
    public func signal(_ signal: Int32 = SIGTERM) {
        if isRunning { _ = kill(pid, signal) }
    }

    /// Waits up to `timeout` for the child to exit; returns its status, or `nil` if it still runs.
    public func waitForExit(timeout: Duration) -> Int32? {
        _ = try? waitUntil(timeout: timeout, poll: .milliseconds(5)) { !self.isRunning }
        return exitStatus
    }

    /// SIGTERM, wait up to `timeout`, then SIGKILL and wait. Idempotent.
    public func stop(timeout: Duration = .seconds(10)) {
        guard isRunning else { return }
        signal(SIGTERM)
        if waitForExit(timeout: timeout) == nil {
            signal(SIGKILL)
            _ = waitForExit(timeout: .seconds(10))
        }
    }

    /// The log file's content from byte `offset` on (everything by default), lossily decoded.
    public func log(from offset: Int = 0) -> String {
        guard let data = FileManager.default.contents(atPath: logFile), offset <= data.count else { return "" }
        return String(decoding: data[offset...], as: UTF8.self)
    }

    deinit {
        if isRunning {
            _ = kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        state.withLock { state in
            if let token = state.registration { ProcessRegistry.unregister(token) }
        }
    }

    // glibc declares these two only under _GNU_SOURCE, which the Glibc module does not define;
    // look them up at run time (glibc 2.29+ and 2.34+ have them; so does macOS for addchdir_np).
    private typealias AddChdir =
        @convention(c) (
            UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>
        ) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    private static func addChdir(_ actions: inout posix_spawn_file_actions_t, _ directory: String) throws {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else {
            throw TestSupportError("posix_spawn_file_actions_addchdir_np is not available (glibc 2.29+ needed)")
        }
        _ = unsafeBitCast(symbol, to: AddChdir.self)(&actions, directory)
    }

    private static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return }  // older C library: descriptors opened with O_CLOEXEC (Foundation, libpq) still close
        _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, lowest)
    }

    private static func withCStrings<R>(
        _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R
    ) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
