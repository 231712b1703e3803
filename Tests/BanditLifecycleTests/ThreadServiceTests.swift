import BanditLifecycle
import BanditWorker
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The daemon's lifecycle rests on these: a blocking loop on a thread of its own stops when the
/// group shuts it down or is cancelled, services stop in reverse order, one that ignores its stop
/// is left behind after `abandonAfter`.
@Suite struct ThreadServiceTests {
    /// What the loops did, in order, from any thread.
    final class Journal: Sendable {
        private let entries = Mutex<[String]>([])
        func record(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    /// A blocking loop: runs until its stop, then records that it stopped.
    static func loop(_ name: String, journal: Journal) -> ThreadService {
        ThreadService(name: name) { stop in
            journal.record("\(name) started")
            stop.wait()
            journal.record("\(name) stopped")
        }
    }

    static func group(_ services: [any Service]) -> ServiceGroup {
        ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
                logger: Logger(label: "test")))
    }

    /// A liveness bound, not a timing: with the whole suite running, other suites can keep the
    /// two cores' concurrency pool busy for many seconds.
    static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func gracefulShutdownStopsTheBlockingLoopsInReverseOrder() async throws {
        let journal = Journal()
        let group = Self.group([
            Self.loop("first", journal: journal), Self.loop("second", journal: journal),
            Self.loop("third", journal: journal),
        ])
        async let running: Void = group.run()
        try await Self.waitUntil { journal.all.count == 3 }
        await group.triggerGracefulShutdown()
        try await running
        #expect(journal.all.suffix(3) == ["third stopped", "second stopped", "first stopped"])
    }

    @Test func aFailingServiceCancelsTheGroupAndTheCancellationReachesTheOtherThreads() async throws {
        struct Failure: Error {}
        let journal = Journal()
        let failing = ThreadService(name: "failing") { _ in
            Thread.sleep(forTimeInterval: 0.1)
            throw Failure()
        }
        let group = Self.group([Self.loop("blocked", journal: journal), failing])
        await #expect(throws: Failure.self) { try await group.run() }
        #expect(journal.all == ["blocked started", "blocked stopped"])
    }

    @Test func aLoopThatIgnoresItsStopIsAbandonedAfterTheGrace() async throws {
        let released = StopSignal()
        defer { released.request() }
        let stubborn = ThreadService(name: "stubborn", abandonAfter: .milliseconds(200)) { _ in released.wait() }
        let group = Self.group([stubborn])
        async let running: Void = group.run()
        try await Task.sleep(for: .milliseconds(50))
        let started = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running
        // It returned although the loop is still blocked (released only when the test ends).
        #expect(ContinuousClock.now - started >= .milliseconds(200))
    }

    @Test func withoutAGraceTheServiceWaitsForItsLoop() async throws {
        let journal = Journal()
        let slow = ThreadService(name: "slow") { stop in
            stop.wait()
            Thread.sleep(forTimeInterval: 0.3)
            journal.record("settled")
        }
        let group = Self.group([slow])
        async let running: Void = group.run()
        try await Task.sleep(for: .milliseconds(50))
        await group.triggerGracefulShutdown()
        try await running
        #expect(journal.all == ["settled"])
    }

    @Test func runUntilShutdownReturnsTheLoopsValueOrItsError() async throws {
        struct Failure: Error {}
        let value = try await runUntilShutdown(name: "value") { _ in 42 }
        #expect(value == 42)
        await #expect(throws: Failure.self) {
            _ = try await runUntilShutdown(name: "error") { _ -> Int in throw Failure() }
        }
    }

    @Test func cancellingTheCallingTaskStopsTheLoop() async throws {
        let journal = Journal()
        let task = Task {
            try await runUntilShutdown(name: "cancelled") { stop in
                journal.record("started")
                stop.wait()
                return "stopped"
            }
        }
        try await Self.waitUntil { journal.all == ["started"] }
        task.cancel()
        #expect(try await task.value == "stopped")
    }

    @Test func aStartedResourceStopsOnShutdownAfterTheServicesStartedAfterIt() async throws {
        let journal = Journal()
        let group = Self.group([
            StartedResourceService(name: "socket") { journal.record("socket stopped") },
            Self.loop("workers", journal: journal),
        ])
        async let running: Void = group.run()
        try await Self.waitUntil { journal.all == ["workers started"] }
        await group.triggerGracefulShutdown()
        try await running
        #expect(journal.all == ["workers started", "workers stopped", "socket stopped"])
    }
}
