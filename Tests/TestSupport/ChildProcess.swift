import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process started by the tests, with stdout and stderr appended to a log file.
///
/// A long-running child is registered with ``ProcessRegistry`` while it runs, so it is killed even
/// if the test process crashes. Stop it with ``stop(timeout:)`` (SIGTERM, wait, then SIGKILL).
public final class ChildProcess: Sendable {
    public let executable: String
    public let arguments: [String]
    /// Where the child's stdout and stderr go.
    public let logFile: String

    private let process: Mutex<Process>
    private let registration: Mutex<ProcessRegistry.Token?>

    /// The child's process id.
    public let pid: Int32

    /// Starts `executable` with `arguments`.
    ///
    /// - Parameters:
    ///   - environment: the child's whole environment; `nil` inherits ours.
    ///   - logFile: created if missing, appended to; stdout and stderr both go there.
    ///   - currentDirectory: the child's working directory (default: the log file's directory).
    ///   - runAs: when we are root, run the child as this user through `runuser -u USER --`.
    ///     Signals then reach `runuser`, which forwards SIGTERM but cannot forward SIGKILL, so use
    ///     this for commands that run to completion (`initdb`, `pg_ctl`), not for servers.
    ///   - register: register with ``ProcessRegistry`` (for servers; not needed for short commands).
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
        if !FileManager.default.fileExists(atPath: logFile) {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        }
        guard let log = FileHandle(forWritingAtPath: logFile) else {
            throw TestSupportError("cannot open log file \(logFile) for \(executable)")
        }
        log.seekToEndOfFile()

        let process = Process()
        process.executableURL = URL(fileURLWithPath: launchPath)
        process.arguments = launchArguments
        if let environment { process.environment = environment }
        process.currentDirectoryURL = URL(
            fileURLWithPath: currentDirectory ?? (logFile as NSString).deletingLastPathComponent,
            isDirectory: true
        )
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            try? log.close()
            throw TestSupportError("could not start \(executable): \(error)")
        }
        try? log.close()

        self.executable = executable
        self.arguments = arguments
        self.logFile = logFile
        self.pid = process.processIdentifier
        self.registration = Mutex(register ? ProcessRegistry.register(pid: process.processIdentifier) : nil)
        self.process = Mutex(process)
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
            throw TestSupportError(
                "\(child.commandLine) did not finish within \(timeout); output:\n\(output)")
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

    /// Whether the child is still running.
    public var isRunning: Bool {
        process.withLock { $0.isRunning }
    }

    /// The exit status (or terminating signal) once the child has exited.
    public var exitStatus: Int32? {
        process.withLock { $0.isRunning ? nil : $0.terminationStatus }
    }

    /// Sends `signal` (SIGTERM by default) to the child.
    public func signal(_ signal: Int32 = SIGTERM) {
        if isRunning { _ = kill(pid, signal) }
    }

    /// Waits up to `timeout` for the child to exit; returns its status, or `nil` if it still runs.
    public func waitForExit(timeout: Duration) -> Int32? {
        let finished = (try? waitUntil(timeout: timeout, poll: .milliseconds(10)) { !self.isRunning }) != nil
        guard finished else { return nil }
        let status = exitStatus
        unregister()
        return status
    }

    /// SIGTERM, wait up to `timeout`, then SIGKILL and wait. Idempotent.
    public func stop(timeout: Duration = .seconds(10)) {
        if isRunning {
            signal(SIGTERM)
            if waitForExit(timeout: timeout) == nil {
                signal(SIGKILL)
                _ = waitForExit(timeout: .seconds(10))
            }
        }
        unregister()
    }

    /// The log file's content from byte `offset` on (everything by default), lossily decoded.
    public func log(from offset: Int = 0) -> String {
        guard let data = FileManager.default.contents(atPath: logFile), offset <= data.count else { return "" }
        return String(decoding: data[offset...], as: UTF8.self)
    }

    private func unregister() {
        registration.withLock { token in
            if let current = token { ProcessRegistry.unregister(current) }
            token = nil
        }
    }

    deinit {
        let stillRunning = process.withLock { $0.isRunning }
        if stillRunning {
            _ = kill(pid, SIGKILL)
        }
        registration.withLock { token in
            if let current = token { ProcessRegistry.unregister(current) }
        }
    }
}
