/// The systemd watchdog settings of this process, from `WATCHDOG_USEC` and `WATCHDOG_PID`.
///
/// Pure: the caller passes the environment and its pid.
public struct WatchdogPolicy: Sendable, Equatable {
    /// `WatchdogSec=`: systemd kills the service when no `WATCHDOG=1` arrives within it.
    public let timeout: Duration

    /// Ping every half of the timeout, as sd_watchdog_enabled(3) advises.
    public var pingInterval: Duration { timeout / 2 }

    public init(timeout: Duration) {
        precondition(timeout > .zero, "watchdog timeout must be positive")
        self.timeout = timeout
    }

    /// The policy systemd asks for, or nil when the watchdog is off for this process:
    /// `WATCHDOG_USEC` absent, not a positive integer, or `WATCHDOG_PID` set to another pid (the
    /// variables were inherited from a parent that systemd watches, not meant for us).
    public static func fromEnvironment(_ environment: [String: String], pid: Int32) -> WatchdogPolicy? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0,
            microseconds <= UInt64(Int64.max)
        else { return nil }
        if let owner = environment["WATCHDOG_PID"], Int32(owner) != pid { return nil }
        return WatchdogPolicy(timeout: .microseconds(Int64(microseconds)))
    }
}
