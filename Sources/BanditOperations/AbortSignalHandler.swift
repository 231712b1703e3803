#if canImport(Glibc)
    import Glibc
#endif

/// SIGABRT and SIGQUIT end the daemon promptly, with one JSON log line.
///
/// systemd's watchdog sends SIGABRT when `WATCHDOG=1` stops. The Swift runtime's crash handler
/// catches SIGABRT and SIGQUIT to print a backtrace, then returns: right for a fault, which happens
/// again and kills the process, but a signal sent with `kill` does not come back, so the daemon
/// went on running, reporting `ready`, with the backtrace's plain text in its JSON log.
///
/// Installed by `banditd run`, this handler replaces the runtime's for these two signals. On the
/// signal it writes one log line (`"level":"critical"`, `"signal"`, and `"crash_report"` when one is
/// written) to stderr, then:
/// - if `SWIFT_BACKTRACE` was set when the process started (the operator chose where crash reports
///   go, as the shipped unit does) and the runtime's handler is installed, it runs that handler, so
///   the report (every thread's stack) is written where `output-to` says. When `output-to` is a
///   path, stderr points at /dev/null meanwhile, so the runtime's one-line progress notice stays
///   out of the JSON log;
/// - without `SWIFT_BACKTRACE`, no report: nothing but the log line reaches stderr;
/// - then it restores the default action and raises the signal again: the process ends by that
///   signal (a core dump where the system keeps them), which `Restart=on-failure` restarts.
///
/// The handler is async-signal-safe: it only formats digits into memory allocated at install time
/// and calls `clock_gettime`, `write`, `open`, `dup2`, `sigaction`, `pthread_sigmask` and `raise`.
public enum AbortSignalHandler {
    public static let signals: [(number: Int32, name: String)] = [(SIGABRT, "SIGABRT"), (SIGQUIT, "SIGQUIT")]

    /// Where the Swift runtime writes a crash report according to `SWIFT_BACKTRACE`: nil when it is
    /// unset or disables backtraces (`enable=no`), else `stdout`, `stderr` (the runtime's default) or
    /// the path given with `output-to=`.
    public static func crashReportDestination(swiftBacktrace setting: String?) -> String? {
        guard let setting else { return nil }
        var destination = "stderr"
        for item in setting.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingWhitespace() }
            guard parts.count == 2 else { continue }
            switch parts[0].lowercased() {
            case "enable" where ["no", "false", "off", "0"].contains(parts[1].lowercased()): return nil
            case "output-to": destination = parts[1].isEmpty ? "stderr" : parts[1]
            default: break
            }
        }
        return destination
    }

    /// Installs the handler for SIGABRT and SIGQUIT. `logger` is the `logger` field of the line.
    /// Call once, early in `banditd run`.
    public static func install(logger label: String, environment: [String: String]) {
        let destination = crashReportDestination(swiftBacktrace: environment["SWIFT_BACKTRACE"])
        func entry(_ number: Int32, _ name: String) -> Entry {
            var previous = sigaction()
            sigaction(number, nil, &previous)
            let runtimeHandler =
                (previous.sa_flags & SA_SIGINFO) != 0 && previous.__sigaction_handler.sa_sigaction != nil
            let report = runtimeHandler ? destination : nil
            return Entry(
                number: number,
                suffix: strdup(lineSuffix(signal: name, logger: label, crashReport: report)),
                previous: report != nil ? previous.__sigaction_handler.sa_sigaction : nil)
        }
        state = State(
            abort: entry(SIGABRT, "SIGABRT"), quit: entry(SIGQUIT, "SIGQUIT"),
            silenceStderr: destination.map { $0 != "stdout" && $0 != "stderr" } ?? false,
            line: UnsafeMutablePointer<UInt8>.allocate(capacity: lineCapacity))

        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = { number, info, context in
            AbortSignalHandler.handle(number, info, context)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK
        sigaction(SIGABRT, &action, nil)
        sigaction(SIGQUIT, &action, nil)
    }

    // MARK: - The handler and its preallocated state

    private typealias SignalAction =
        @convention(c) (Int32, UnsafeMutablePointer<siginfo_t>?, UnsafeMutableRawPointer?)
        -> Void

    /// Plain values only (no class references, no arrays): the handler must not retain or allocate.
    private struct Entry {
        var number: Int32 = 0
        /// `","level":"critical",…}\n`: everything after the timestamp, NUL-terminated.
        var suffix: UnsafeMutablePointer<CChar>?
        /// The Swift runtime's handler, when it is to write a crash report.
        var previous: SignalAction?
    }

    private struct State {
        var abort = Entry()
        var quit = Entry()
        var silenceStderr = false
        var line: UnsafeMutablePointer<UInt8>?
    }

    // Written once by `install` before the handler is installed; only read afterwards.
    private nonisolated(unsafe) static var state = State()
    private static let lineCapacity = 4096

    static func lineSuffix(signal: String, logger: String, crashReport: String?) -> String {
        var suffix = "\",\"level\":\"critical\",\"msg\":" + JSONText.string("terminating on \(signal)")
        suffix += ",\"logger\":" + JSONText.string(logger)
        if let crashReport { suffix += ",\"crash_report\":" + JSONText.string(crashReport) }
        suffix += ",\"signal\":" + JSONText.string(signal) + "}\n"
        return suffix
    }

    private static func handle(
        _ number: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?
    ) {
        let entry = number == SIGABRT ? state.abort : state.quit
        if let line = state.line, let suffix = entry.suffix {
            var length = 0
            for byte in [UInt8(ascii: "{"), 0x22, 0x74, 0x73, 0x22, 0x3A, 0x22] {  // {"ts":"
                line[length] = byte
                length += 1
            }
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            length += formatTimestamp(seconds: Int64(now.tv_sec), nanoseconds: Int64(now.tv_nsec), into: line + length)
            var index = 0
            while suffix[index] != 0 && length < lineCapacity {
                line[length] = UInt8(bitPattern: suffix[index])
                length += 1
                index += 1
            }
            _ = write(STDERR_FILENO, line, length)
        }
        if let runtimeHandler = entry.previous {
            if state.silenceStderr {
                let null = open("/dev/null", O_WRONLY)
                if null >= 0 {
                    dup2(null, STDERR_FILENO)
                    close(null)
                }
            }
            // Suspends the other threads, runs swift-backtrace, resets the crash signals to their
            // default action, resumes the threads and returns.
            runtimeHandler(number, info, context)
        }
        var defaultAction = sigaction()
        defaultAction.__sigaction_handler.sa_handler = SIG_DFL
        sigemptyset(&defaultAction.sa_mask)
        sigaction(number, &defaultAction, nil)
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, number)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        raise(number)
    }

    /// Writes `2026-12-02T00:29:23.113Z` (UTC, milliseconds: the log handler's format) for a time
    /// since 1970 and returns its length (24). Integer arithmetic and stores only: safe in a signal
    /// handler.
    static func formatTimestamp(seconds: Int64, nanoseconds: Int64, into output: UnsafeMutablePointer<UInt8>) -> Int {
        // Days to a civil date: Howard Hinnant's days_from_civil, inverted.
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var at = output
        at = digits(year, count: 4, at)
        at = byte(UInt8(ascii: "-"), at)
        at = digits(month, count: 2, at)
        at = byte(UInt8(ascii: "-"), at)
        at = digits(day, count: 2, at)
        at = byte(UInt8(ascii: "T"), at)
        at = digits(secondOfDay / 3600, count: 2, at)
        at = byte(UInt8(ascii: ":"), at)
        at = digits(secondOfDay / 60 % 60, count: 2, at)
        at = byte(UInt8(ascii: ":"), at)
        at = digits(secondOfDay % 60, count: 2, at)
        at = byte(UInt8(ascii: "."), at)
        at = digits(nanoseconds / 1_000_000, count: 3, at)
        at = byte(UInt8(ascii: "Z"), at)
        return at - output
    }

    private static func byte(_ value: UInt8, _ at: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        at.pointee = value
        return at + 1
    }

    /// `value`'s last `count` decimal digits, zero-padded.
    private static func digits(_ value: Int64, count: Int, _ at: UnsafeMutablePointer<UInt8>)
        -> UnsafeMutablePointer<UInt8>
    {
        var rest = value
        var index = count - 1
        while index >= 0 {
            at[index] = UInt8(48 + rest % 10)
            rest /= 10
            index -= 1
        }
        return at + count
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
