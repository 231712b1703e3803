import BanditCore
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// Issue 10's probe, continued (a suite of its own so it runs beside `FieldFaultsProcessTests`):
/// PostgreSQL answers but refuses the batch — read-only after a failover (25006), a revoked grant
/// (42501). The daemon's own `SELECT 1` succeeds, so before the fix health said ready for the whole
/// hold and the log said "PostgreSQL unavailable" once (defect 4). Now the hold degrades health with
/// its code, the reason is logged again and again, WATCHDOG=1 keeps coming, and everything applies
/// once when the fault ends. Timings as in `FaultProbe`.
@Suite(.postgresServer, .serialized)
struct RefusingDatabaseProcessTests {
    @Test func aReadOnlySwitchHoldsWithTheReasonInHealthAndTheLogAndAppliesOnceReverted() async throws {
        try await FaultProbe.with { probe in
            let daemon = try probe.startDaemon(log: "read-only.log")
            let pings = WatchdogPings(probe.stack.notify)
            defer { pings.stop() }
            let nats = try probe.stack.connectNATS()
            var workload = FaultWorkload()
            try probe.stack.publish([workload.reward(user: "u0", arm: "a0")], on: nats)
            try probe.stack.waitForProcessed(1, try probe.stack.connectDatabase(), timeout: .seconds(30))

            // A failover to a standby, as far as the daemon can tell: new sessions are read-only
            // and the current ones are cut.
            try probe.postgres.psql("ALTER DATABASE \(probe.databaseName) SET default_transaction_read_only = on")
            try probe.postgres.terminateBackends(database: probe.databaseName)
            let faultStart = ContinuousClock.now
            var events: [Event] = []
            for index in 0..<30 { events.append(workload.reward(user: "u\(index % 3)", arm: "a\(index % 2)")) }
            events.append(workload.tip(user: "u0"))
            try probe.stack.publish(events, on: nats)

            try waitUntil(timeout: .seconds(15)) {
                let health = try probe.health()
                return health.holdCode(of: "feedback") == "postgres_read_only"
                    && health.holdCode(of: "signals") == "postgres_read_only"
            }
            let during = try probe.health()
            #expect(during.status == "degraded" && !during.ok && during.exitStatus != 0, "\(during)")
            // The daemon's own `SELECT 1` works on a read-only server: it is the hold that degrades.
            try waitUntil(timeout: .seconds(10)) { try probe.health().postgresConnected }
            #expect(try probe.health().status == "degraded")
            Thread.sleep(forTimeInterval: max(0, (faultStart + FaultProbe.faultDuration - .now).secondsValue))
            let readOnlyLines = FaultProbe.logLines(daemon, message: "holding the batch").filter {
                $0["hold_reason"] as? String == "postgres_read_only"
                    && ($0["msg"] as? String)?.contains("read-only") == true
            }
            // Said again while the hold lasts (with backoff), not once.
            #expect(readOnlyLines.count >= 4, "\(readOnlyLines.count) read-only lines")
            #expect(FaultProbe.logLines(daemon, message: "PostgreSQL unavailable").isEmpty)

            try probe.postgres.psql("ALTER DATABASE \(probe.databaseName) RESET default_transaction_read_only")
            let faultEnd = ContinuousClock.now
            try probe.expectRecovered(
                workload, database: try probe.stack.connectDatabase(), nats: nats, pings: pings,
                faultStart: faultStart, faultEnd: faultEnd)
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    @Test func aRevokedGrantHoldsAsPermissionDeniedAndAppliesOnceGrantedBack() async throws {
        try await FaultProbe.with { probe in
            // The README's least-privilege setup: an owner role migrates, the daemon runs as a
            // role with DML rights only.
            let role = "banditd_app"
            try probe.postgres.psql("CREATE ROLE \(role) LOGIN")
            _ = try probe.stack.command(["migrate"])
            try probe.postgres.psql(
                """
                GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \(role);
                GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO \(role);
                """, database: probe.databaseName)
            let daemon = try probe.startDaemon(
                log: "revoke.log",
                extra: [
                    "DATABASE_URL": "postgresql://\(role)@127.0.0.1:\(probe.postgres.port)/\(probe.databaseName)",
                    "BANDITD_MIGRATE_ON_START": "false",
                ])
            let pings = WatchdogPings(probe.stack.notify)
            defer { pings.stop() }
            let nats = try probe.stack.connectNATS()
            let database = try probe.stack.connectDatabase()
            var workload = FaultWorkload()
            try probe.stack.publish([workload.reward(user: "u0", arm: "a0")], on: nats)
            try probe.stack.waitForProcessed(1, database, timeout: .seconds(30))

            try probe.postgres.psql("REVOKE INSERT ON processed_events FROM \(role)", database: probe.databaseName)
            let faultStart = ContinuousClock.now
            var events: [Event] = []
            for index in 0..<30 { events.append(workload.reward(user: "u\(index % 3)", arm: "a\(index % 2)")) }
            events.append(workload.sync(user: "u1", count: 3))
            try probe.stack.publish(events, on: nats)
            try waitUntil(timeout: .seconds(15)) {
                try probe.health().holdCode(of: "feedback") == "postgres_permission_denied"
            }
            let during = try probe.health()
            #expect(during.status == "degraded" && !during.ok && during.exitStatus != 0, "\(during)")
            #expect(during.postgresConnected)
            #expect(during.holdReason(of: "feedback")?.contains("permission denied") == true)
            Thread.sleep(forTimeInterval: max(0, (faultStart + FaultProbe.faultDuration - .now).secondsValue))
            #expect(try probe.applied(database) == 1)
            let lines = FaultProbe.logLines(daemon, message: "holding the batch").filter {
                $0["hold_reason"] as? String == "postgres_permission_denied"
            }
            #expect(
                lines.count >= 2 && lines.allSatisfy { ($0["msg"] as? String)?.contains("permission denied") == true })

            try probe.postgres.psql("GRANT INSERT ON processed_events TO \(role)", database: probe.databaseName)
            let faultEnd = ContinuousClock.now
            try probe.expectRecovered(
                workload, database: database, nats: nats, pings: pings, faultStart: faultStart,
                faultEnd: faultEnd)
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }
}
