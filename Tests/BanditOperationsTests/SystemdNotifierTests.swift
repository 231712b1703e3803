import Foundation
import TestSupport
import Testing

@testable import BanditOperations

/// sd_notify against a datagram socket the test binds, as systemd would.
@Suite struct SystemdNotifierTests {
    @Test func withoutNotifySocketEveryCallIsANoOp() throws {
        let notifier = try SystemdNotifier(environment: ["HOME": "/root"])
        #expect(!notifier.isEnabled)
        #expect(try notifier.ready(status: "ready") == false)
        #expect(try notifier.watchdog() == false)
        #expect(try SystemdNotifier(environment: ["NOTIFY_SOCKET": ""]).isEnabled == false)
    }

    @Test func aPathSocketReceivesOneDatagramPerCallInOrder() throws {
        let directory = try TemporaryDirectory(prefix: "ops")
        defer { directory.remove() }
        let receiver = try NotifyReceiver(path: directory.appending("notify.sock"))
        let notifier = try SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        #expect(notifier.isEnabled)

        #expect(try notifier.status("starting: migrating"))
        try notifier.ready(status: "ready: signals 0 processed, feedback 0 processed")
        try notifier.watchdog()
        try notifier.status("degraded: PostgreSQL unreachable")
        try notifier.stopping(status: "stopping: finishing in-flight messages")
        try notifier.stopping()

        #expect(
            receiver.drain() == [
                "STATUS=starting: migrating",
                "READY=1\nSTATUS=ready: signals 0 processed, feedback 0 processed",
                "WATCHDOG=1",
                "STATUS=degraded: PostgreSQL unreachable",
                "STOPPING=1\nSTATUS=stopping: finishing in-flight messages",
                "STOPPING=1",
            ]
        )
    }

    @Test func anAtSignAddressesTheAbstractNamespace() throws {
        let name = "banditd-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let receiver = try NotifyReceiver(abstractName: name)
        #expect(receiver.notifySocket == "@" + name)
        let notifier = try SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        try notifier.ready(status: "ready")
        try notifier.watchdog()
        try notifier.stopping()
        #expect(receiver.drain() == ["READY=1\nSTATUS=ready", "WATCHDOG=1", "STOPPING=1"])
    }

    @Test func aStatusCannotSmuggleAnotherAssignment() throws {
        let directory = try TemporaryDirectory(prefix: "ops")
        defer { directory.remove() }
        let receiver = try NotifyReceiver(path: directory.appending("notify.sock"))
        let notifier = try SystemdNotifier(socket: receiver.notifySocket)
        try notifier.status("degraded\nREADY=1")
        #expect(receiver.drain() == ["STATUS=degraded READY=1"])
    }

    @Test func sendingToASocketNobodyBoundIsAnErrorNamingIt() throws {
        let notifier = try SystemdNotifier(socket: "/nonexistent/banditd/notify.sock")
        let error = try #require(throws: OperationsError.self) { try notifier.watchdog() }
        #expect(error.description == "sendto /nonexistent/banditd/notify.sock: No such file or directory")
    }

    @Test func anAddressTooLongForSunPathIsRefusedAtStart() {
        let error = #expect(throws: OperationsError.self) {
            try SystemdNotifier(socket: "/" + String(repeating: "x", count: 200))
        }
        #expect(error?.code == .invalidAddress)
    }
}
