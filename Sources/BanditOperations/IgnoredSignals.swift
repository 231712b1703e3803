import Dispatch
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// SIGHUP, SIGUSR1 and SIGUSR2: logged (one line naming the signal) and otherwise ignored.
///
/// Their default action ends the process at once: nothing settled, the health socket file left
/// behind, and for SIGHUP an exit that `Restart=on-failure` counts as clean, so systemd would not
/// even restart the daemon. banditd re-reads nothing on SIGHUP: its configuration (file and
/// environment) is read once at start, so a changed configuration needs a restart.
///
/// The signals are received through libdispatch signal sources (the same mechanism
/// swift-service-lifecycle uses for SIGTERM): libdispatch installs the process-wide handler, and the
/// log line is written on a dispatch queue, not in a signal handler.
public final class IgnoredSignals {
    public static let signals: [(number: Int32, name: String)] = [
        (SIGHUP, "SIGHUP"), (SIGUSR1, "SIGUSR1"), (SIGUSR2, "SIGUSR2"),
    ]

    private let sources: [any DispatchSourceSignal]

    /// Installs the sources and returns once libdispatch has registered every one of them (it does
    /// so on its own thread, within milliseconds), so a signal that arrives after this returns is
    /// logged, never fatal. Keep the result for as long as the process runs.
    public init(logger: Logger) {
        let queue = DispatchQueue(label: "banditd.ignored-signals")
        var sources: [any DispatchSourceSignal] = []
        for (number, name) in Self.signals {
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                logger.notice(
                    "signal ignored",
                    metadata: [
                        "signal": "\(name)",
                        "note": "banditd re-reads nothing on a signal; restart it to apply a new configuration",
                    ])
            }
            let registered = DispatchSemaphore(value: 0)
            source.setRegistrationHandler { registered.signal() }
            source.resume()
            _ = registered.wait(timeout: .now() + .seconds(5))
            sources.append(source)
        }
        self.sources = sources
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
