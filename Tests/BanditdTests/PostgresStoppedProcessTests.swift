import BanditCore
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// Issue 10, the probe's "PostgreSQL stopped" case (its own suite: it stops the suite's server).
/// The probe saw a 49 s gap in WATCHDOG=1; here the server is down for `FaultProbe.faultDuration`
/// (21 s, the probe's ~40 s at the probe's timings scaled by one fifth, still longer than
/// max_deliver × ack wait and three watchdog timeouts).
@Suite(.postgresServer, .serialized)
struct PostgresStoppedProcessTests {
    @Test func withPostgreSQLStoppedWatchdogPingsContinueHealthIsDegradedAndEverythingAppliesOnceAfter()
        async throws
    {
        try await FaultProbe.with { probe in
            let daemon = try probe.startDaemon(log: "stopped.log")
            let pings = WatchdogPings(probe.stack.notify)
            defer { pings.stop() }
            let nats = try probe.stack.connectNATS()
            var workload = FaultWorkload()
            try probe.stack.publish([workload.reward(user: "u0", arm: "a0")], on: nats)
            try probe.stack.waitForProcessed(1, try probe.stack.connectDatabase(), timeout: .seconds(30))

            try probe.postgres.stopServer(mode: .fast)
            let faultStart = ContinuousClock.now
            var events: [Event] = []
            for index in 0..<40 { events.append(workload.reward(user: "u\(index % 5)", arm: "a\(index % 3)")) }
            let pair = workload.decisionAndReward(user: "u1", arm: "a1")
            events += [pair.decision, pair.reward, workload.tip(user: "u2"), workload.sync(user: "u3", count: 9)]
            try probe.stack.publish(events, on: nats)

            try waitUntil(timeout: .seconds(20)) {
                let health = try probe.health()
                return !health.postgresConnected && health.holdCode(of: "feedback") == "postgres_unreachable"
            }
            let during = try probe.health()
            #expect(during.status == "degraded" && !during.ok && during.exitStatus != 0, "\(during)")
            Thread.sleep(forTimeInterval: max(0, (faultStart + FaultProbe.faultDuration - .now).secondsValue))
            #expect(try probe.health().status == "degraded")
            let lines = FaultProbe.logLines(daemon, message: "holding the batch").filter {
                $0["hold_reason"] as? String == "postgres_unreachable"
            }
            #expect(lines.count >= 2, "the reason is said again while the outage lasts")

            try probe.postgres.startServer()
            let faultEnd = ContinuousClock.now
            try probe.expectRecovered(
                workload, database: try probe.stack.connectDatabase(), nats: nats, pings: pings,
                faultStart: faultStart, faultEnd: faultEnd)
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }
}
