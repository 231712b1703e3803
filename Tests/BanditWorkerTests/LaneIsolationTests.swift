import BanditCore
import BanditStore
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

@testable import BanditWorker

/// Apply lanes split a worker's messages by user: a row locked elsewhere holds only the lane of
/// its user; the other lane's users go on, and once the lock is gone every event applies once.
/// (The waits are liveness bounds, generous for a loaded CI box; each returns when its condition holds.)
@Suite(.postgresServer, .serialized)
struct LaneIsolationTests {
    @Test func aLockedRowHoldsOnlyItsUsersLane() async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let harness = try PipelineHarness(postgres: postgres)
            defer { harness.stop() }
            let lanes = ApplyLanes(count: 2)
            let lockedUser = "locked-user"
            let lockedLane = lanes.lane(ofUser: lockedUser)
            let users = (0..<200).map { "user-\($0)" }
            let sameLane = Array(users.filter { lanes.lane(ofUser: $0) == lockedLane }.prefix(5))
            let otherLane = Array(users.filter { lanes.lane(ofUser: $0) != lockedLane }.prefix(10))
            #expect(sameLane.count == 5 && otherLane.count == 10)

            try harness.publish(EventFactory.inlineReward(user: lockedUser, arm: "a-locked"))
            let workers = try harness.startWorkers(lanes: 2, lockTimeout: .milliseconds(500))
            defer { _ = workers.stop() }
            try waitUntil(timeout: .seconds(60)) { try harness.count("processed_events") == 1 }

            let locker = try PostgresConnection(conninfo: harness.conninfo)
            _ = try locker.execute("BEGIN")
            let locked = try locker.query(
                "SELECT n FROM bandit_state WHERE user_id = 'locked-user' AND arm_id = 'a-locked' FOR UPDATE")
            #expect(locked.rows.count == 1)
            var held: [Event] = (0..<5).map { _ in EventFactory.inlineReward(user: lockedUser, arm: "a-locked") }
            held += sameLane.map { EventFactory.inlineReward(user: $0, arm: "a1") }
            let free = otherLane.map { EventFactory.inlineReward(user: $0, arm: "a1") }
            // One at a time, each in a fetch of its own, the two lanes' events interleaved: the
            // locked lane's handoff is full long before the last free event arrives.
            for (index, event) in zip(held, free).flatMap({ [$0, $1] }).enumerated() {
                if index > 0 { Thread.sleep(forTimeInterval: 0.02) }
                try harness.publish(event)
            }

            // The other lane's users apply while the lock is held; the locked lane holds.
            try waitUntil(timeout: .seconds(60)) { try harness.count("processed_events") == 1 + free.count }
            try waitUntil(timeout: .seconds(10)) {
                workers.observer.counts.withLock { $0.holds.contains { $0?.kind == .lockTimeout } }
            }
            Thread.sleep(forTimeInterval: 1.5)
            #expect(try harness.count("processed_events") == 1 + free.count)
            #expect(workers.observer.counts.withLock { $0.deadLettered.isEmpty })

            _ = try locker.execute("ROLLBACK")
            try waitUntil(timeout: .seconds(60)) {
                try harness.count("processed_events") == 1 + held.count + free.count
            }
            try harness.waitUntilDrained()
            let lockedRow = try #require(
                try harness.query("SELECT n FROM bandit_state WHERE user_id = 'locked-user' AND arm_id = 'a-locked'")
                    .first)
            #expect(try lockedRow.int(0) == 6)
            #expect(try harness.query("SELECT sum(n)::bigint FROM bandit_state").first?.int(0) == 21)
        }
    }

    /// The held lane's users keep arriving for longer than two ack waits: what waits for the held
    /// lane (its batch, its handoff, the fetcher's backlog, and, once the backlog holds a fetch's
    /// worth, what open pulls deliver) is kept alive, so nothing is redelivered and nothing spends
    /// a delivery; after the lock every event applies once.
    @Test func whatWaitsForAHeldLaneIsKeptAliveAndAppliesOnceAfterTheLock() async throws {
        let postgres = try PostgresServer.requireCurrent()
        try await onDedicatedThread {
            let harness = try PipelineHarness(postgres: postgres, maxDeliver: 2, ackWait: .seconds(3))
            defer { harness.stop() }
            let lanes = ApplyLanes(count: 2)
            let lockedUser = "locked-user"
            let lockedLane = lanes.lane(ofUser: lockedUser)
            let users = (0..<200).map { "user-\($0)" }
            let sameLane = Array(users.filter { lanes.lane(ofUser: $0) == lockedLane }.prefix(12))
            let otherLane = Array(users.filter { lanes.lane(ofUser: $0) != lockedLane }.prefix(12))

            try harness.publish(EventFactory.inlineReward(user: lockedUser, arm: "a-locked"))
            // A fetch is 2 × 3 messages: the backlog bound is reached after a few held events.
            let workers = try harness.startWorkers(lanes: 2, batchSize: 3, lockTimeout: .milliseconds(500))
            defer { _ = workers.stop() }
            try waitUntil(timeout: .seconds(60)) { try harness.count("processed_events") == 1 }

            let locker = try PostgresConnection(conninfo: harness.conninfo)
            _ = try locker.execute("BEGIN")
            _ = try locker.query(
                "SELECT n FROM bandit_state WHERE user_id = 'locked-user' AND arm_id = 'a-locked' FOR UPDATE")
            let held: [Event] =
                [EventFactory.inlineReward(user: lockedUser, arm: "a-locked")]
                + sameLane.map { EventFactory.inlineReward(user: $0, arm: "a1") }
            let free = otherLane.map { EventFactory.inlineReward(user: $0, arm: "a1") }
            var interleaved: [Event] = []
            for index in 0..<max(held.count, free.count) {
                if index < held.count { interleaved.append(held[index]) }
                if index < free.count { interleaved.append(free[index]) }
            }
            for (index, event) in interleaved.enumerated() {
                if index > 0 { Thread.sleep(forTimeInterval: 0.02) }
                try harness.publish(event)
            }
            // Three ack waits with the lock held.
            Thread.sleep(forTimeInterval: 9)
            #expect(try harness.count("processed_events") < 1 + held.count + free.count)
            _ = try locker.execute("ROLLBACK")
            try waitUntil(timeout: .seconds(60)) {
                try harness.count("processed_events") == 1 + held.count + free.count
            }
            try harness.waitUntilDrained()
            let counts = workers.observer.counts.withLock { $0 }
            #expect(counts.redelivered == 0)
            #expect(counts.deadLettered.isEmpty)
            #expect(try harness.query("SELECT sum(n)::bigint FROM bandit_state").first?.int(0) == 26)
        }
    }
}
