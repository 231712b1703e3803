import Foundation
import TestSupport
import Testing

@testable import BanditOperations

@Suite struct WatchdogPolicyTests {
    @Test func pingIntervalIsHalfOfWatchdogUsec() throws {
        let policy = try #require(WatchdogPolicy.fromEnvironment(["WATCHDOG_USEC": "30000000"], pid: 42))
        #expect(policy.timeout == .seconds(30))
        #expect(policy.pingInterval == .seconds(15))
    }

    @Test func watchdogPidMustBeOurs() {
        #expect(
            WatchdogPolicy.fromEnvironment(["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "42"], pid: 42)?.pingInterval
                == .seconds(1))
        #expect(WatchdogPolicy.fromEnvironment(["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "7"], pid: 42) == nil)
        #expect(WatchdogPolicy.fromEnvironment(["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "x"], pid: 42) == nil)
    }

    @Test(arguments: [
        [:], ["WATCHDOG_USEC": "0"], ["WATCHDOG_USEC": "-5"], ["WATCHDOG_USEC": "30s"], ["WATCHDOG_USEC": ""],
    ])
    func noUsableWatchdogUsecMeansNoWatchdog(_ environment: [String: String]) {
        #expect(WatchdogPolicy.fromEnvironment(environment, pid: 42) == nil)
    }
}

@Suite struct ProgressWatchdogTests {
    let directory: TemporaryDirectory
    let receiver: NotifyReceiver
    let notifier: SystemdNotifier

    init() throws {
        directory = try TemporaryDirectory(prefix: "ops")
        receiver = try NotifyReceiver(path: directory.appending("notify.sock"))
        notifier = try SystemdNotifier(socket: receiver.notifySocket)
    }

    @Test func pingsWhileEveryLoopBeatsWithinTheThreshold() {
        defer { directory.remove() }
        let time = ManualTime()
        let watchdog = ProgressWatchdog(stallThreshold: .seconds(30), now: time.now)
        watchdog.register(loop: "signals-0")
        watchdog.register(loop: "feedback-0")
        for _ in 0..<4 {
            time.advance(by: .seconds(15))
            watchdog.beat(loop: "signals-0")
            watchdog.beat(loop: "feedback-0")
            #expect(watchdog.tick(notifier: notifier))
        }
        #expect(receiver.drain() == Array(repeating: "WATCHDOG=1", count: 4))
    }

    @Test func aWedgedLoopStopsThePingsAndABeatResumesThem() {
        defer { directory.remove() }
        let time = ManualTime()
        let watchdog = ProgressWatchdog(stallThreshold: .seconds(30), now: time.now)
        watchdog.register(loop: "signals-0")
        watchdog.register(loop: "feedback-0")
        var sent: [Bool] = []
        for second in stride(from: 15, through: 90, by: 15) {
            time.advance(by: .seconds(15))
            watchdog.beat(loop: "feedback-0")
            if second <= 15 { watchdog.beat(loop: "signals-0") }  // signals-0 wedges after 15 s
            if second == 75 { watchdog.beat(loop: "signals-0") }  // … and comes back at 75 s
            sent.append(watchdog.tick(notifier: notifier))
        }
        // Last beat at 15 s: still fine at 30 s and 45 s (30 s old), stalled at 60 s; back at 75 s.
        #expect(sent == [true, true, true, false, true, true])
        #expect(receiver.drain() == Array(repeating: "WATCHDOG=1", count: 5))
    }

    @Test func stalledLoopsAreNamed() {
        defer { directory.remove() }
        let time = ManualTime()
        let watchdog = ProgressWatchdog(stallThreshold: .seconds(10), now: time.now)
        watchdog.register(loop: "signals-1")
        watchdog.register(loop: "signals-0")
        watchdog.register(loop: "feedback-0")
        time.advance(by: .seconds(11))
        watchdog.beat(loop: "feedback-0")
        #expect(watchdog.stalledLoops() == ["signals-0", "signals-1"])
        watchdog.unregister(loop: "signals-0")
        watchdog.unregister(loop: "signals-1")
        #expect(watchdog.stalledLoops().isEmpty)
    }

    @Test func withNoLoopRegisteredItPings() {
        defer { directory.remove() }
        let time = ManualTime()
        let watchdog = ProgressWatchdog(stallThreshold: .seconds(1), now: time.now)
        time.advance(by: .seconds(60))
        #expect(watchdog.tick(notifier: notifier))
        #expect(receiver.drain() == ["WATCHDOG=1"])
    }

    @Test func theTickingThreadWithholdsPingsFromAWedgedLoopUntilItBeatsAgain() throws {
        defer { directory.remove() }
        let watchdog = ProgressWatchdog(stallThreshold: .milliseconds(400))
        watchdog.register(loop: "signals-0")
        watchdog.start(interval: .milliseconds(50), notifier: notifier)
        defer { watchdog.stop() }

        #expect(receiver.next() == "WATCHDOG=1")
        // No more beats: once the loop is 400 ms silent the pings stop.
        Thread.sleep(forTimeInterval: 0.6)
        _ = receiver.drain()
        #expect(receiver.next(timeout: .milliseconds(300)) == nil)
        watchdog.beat(loop: "signals-0")
        #expect(receiver.next() == "WATCHDOG=1")
        watchdog.stop()
        _ = receiver.drain()
        #expect(receiver.next(timeout: .milliseconds(200)) == nil)
    }

    @Test func aDaemonLifetimeNotifiesReadyPingsStallsAndStopsInOrder() {
        defer { directory.remove() }
        let time = ManualTime()
        let state = HealthState(version: "1.0.0")
        let watchdog = ProgressWatchdog(stallThreshold: .seconds(30), now: time.now)
        _ = try? notifier.status(state.statusLine())
        watchdog.register(loop: "signals-0")
        state.setNATSConnected(true)
        state.setPostgresConnected(true)
        state.markReady()
        _ = try? notifier.ready(status: state.statusLine())
        time.advance(by: .seconds(15))
        watchdog.beat(loop: "signals-0")
        watchdog.tick(notifier: notifier)
        time.advance(by: .seconds(45))  // wedged
        watchdog.tick(notifier: notifier)
        state.markStopping()
        _ = try? notifier.stopping(status: state.statusLine())
        #expect(
            receiver.drain() == [
                "STATUS=starting",
                "READY=1\nSTATUS=ready: signals 0 processed, feedback 0 processed",
                "WATCHDOG=1",
                "STOPPING=1\nSTATUS=stopping: finishing in-flight messages",
            ]
        )
    }
}
