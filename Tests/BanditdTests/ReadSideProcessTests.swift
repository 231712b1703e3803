import BanditCore
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

/// `banditd stats`, `state reset`, `report cells --top` and `--format table` (CONTRACT section 9)
/// of the real binary against a real daemon, NATS and PostgreSQL.
@Suite(.postgresServer, .serialized)
struct ReadSideProcessTests {
    static func inline(
        _ user: String, policy: String = "linucb_v1", arm: String, reward: Double, source: EventSource = .prod,
        features: [Double] = [1, 0.5, 0, 0, 0]
    ) -> Event {
        .reward(
            try! Reward(
                eventID: UUID(), occurredAt: Date(), userID: user, source: source, reward: reward,
                target: .inline(policy: policy, armID: arm, features: features)))
    }

    static func decision(_ user: String, arm: String, id: UUID = UUID()) -> Event {
        .decision(
            try! Decision(
                eventID: UUID(), occurredAt: Date(), userID: user, decisionID: id, policy: "linucb_v1",
                policyVersion: "linucb_v1@1.0.0+a3f9c2e1", armID: arm, propensity: 0.5, features: [1, 0, 0, 0, 0],
                candidates: ["a", "b"], probabilities: [0.5, 0.5]))
    }

    static func joined(_ user: String, _ decision: Event, reward: Double) -> Event {
        guard case .decision(let logged) = decision else { preconditionFailure("not a decision") }
        return .reward(
            try! Reward(
                eventID: UUID(), occurredAt: Date(), userID: user, reward: reward,
                target: .decision(id: logged.decisionID)))
    }

    @Test func statsShowsAUsersStateAndDecisionsByRewardOriginInBothFormats() async throws {
        try await OperationsStack.with { stack in
            let daemon = try stack.startDaemon(log: "daemon.log")
            defer { daemon.stop(timeout: .seconds(30)) }
            let database = try stack.connectDatabase()
            defer { database.close() }
            let nats = try stack.connectNATS()
            defer { nats.close() }
            let decisions = (0..<6).map { Self.decision("alice", arm: $0 % 2 == 0 ? "a" : "b") }
            let rewards = decisions.prefix(4).enumerated().map { Self.joined("alice", $1, reward: 0.25 * Double($0)) }
            let inline = [
                Self.inline("alice", arm: "c", reward: 1), Self.inline("alice", arm: "c", reward: -0.5),
                Self.inline("alice", arm: "c", reward: 0.125),
                Self.inline("alice", arm: "a", reward: 0.5, source: .synthetic),
                Self.inline("bob", arm: "a", reward: 1),
            ]
            try stack.publish(decisions, on: nats)
            try stack.publish(rewards + inline, on: nats)
            try stack.waitForProcessed(15, database)

            let output = try stack.command(["stats", "--user", "alice"], log: "stats.log")
            let stats = try #require(try OperationsStack.json(output) as? [String: Any])
            #expect(stats["user_id"] as? String == "alice")
            #expect(stats["source"] is NSNull)
            let arms = try #require(stats["arms"] as? [[String: Any]])
            let stored = try database.query(
                """
                SELECT policy, source, arm_id, n, reward_sum FROM bandit_state WHERE user_id = 'alice'
                ORDER BY policy, source, arm_id
                """
            ).rows
            #expect(arms.count == stored.count)
            #expect(arms.count == 4)  // prod a, b, c; synthetic a
            for (arm, row) in zip(arms, stored) {
                #expect(arm["policy"] as? String == (try row.string(0)))
                #expect(arm["source"] as? String == (try row.string(1)))
                #expect(arm["arm_id"] as? String == (try row.string(2)))
                #expect(arm["n"] as? Int == (try row.int(3)))
                #expect(arm["reward_sum"] as? Double == (try row.double(4)))
                #expect(arm["mean_reward"] as? Double == (try row.double(4)) / Double(try row.int(3)))
                #expect((arm["updated_at"] as? String)?.hasSuffix("Z") == true)
            }
            let c = try #require(arms.first { $0["arm_id"] as? String == "c" })
            #expect(c["n"] as? Int == 3)
            #expect(c["reward_sum"] as? Double == 0.625)
            let policies = try #require(stats["policies"] as? [[String: Any]])
            #expect(policies.count == 2)
            let prod = try #require(policies.first { $0["source"] as? String == "prod" })
            #expect(prod["decisions"] as? Int == 6)
            #expect(prod["rewarded_by_event"] as? Int == 4)
            #expect(prod["closed_by_default"] as? Int == 0)
            #expect(prod["late_corrected"] as? Int == 0)
            #expect(prod["open"] as? Int == 2)
            #expect(prod["state_arms"] as? Int == 3)
            #expect(prod["state_n"] as? Int == 7)
            let synthetic = try #require(policies.first { $0["source"] as? String == "synthetic" })
            #expect(synthetic["decisions"] as? Int == 0)
            #expect(synthetic["state_n"] as? Int == 1)

            // The table: the same content, aligned, numbers rounded.
            let table = OperationsStack.stdout(
                try stack.command(["stats", "--user", "alice", "--format", "table"], log: "t.log"))
            #expect(!table.contains("{"))
            let lines = table.split(separator: "\n").map(String.init)
            #expect(lines.contains { $0.hasPrefix("user_id") && $0.hasSuffix("alice") })
            #expect(lines.contains("arms:") && lines.contains("policies:"))
            let header = try #require(lines.first { $0.hasPrefix("policy ") && $0.contains("arm_id") })
            for column in ["policy", "source", "arm_id", "n", "reward_sum", "mean_reward", "updated_at"] {
                #expect(header.contains(column))
            }
            let cLine = try #require(lines.first { $0.contains(" c ") })
            #expect(cLine.contains("0.6250") && cLine.contains("0.2083") && cLine.contains(" 3 "))
            let prodLine = try #require(
                lines.first {
                    $0.hasPrefix("linucb_v1") && $0.contains("prod") && !$0.contains(" a ") && !$0.contains(" b ")
                        && !$0.contains(" c ")
                })
            #expect(
                prodLine.split(separator: " ").map(String.init) == [
                    "linucb_v1", "prod", "6", "4", "0", "0", "2", "3", "7",
                ])

            // Filters and errors.
            let onlySynthetic = try #require(
                try OperationsStack.json(
                    try stack.command(["stats", "--user", "alice", "--source", "synthetic"], log: "s.log"))
                    as? [String: Any])
            #expect((onlySynthetic["arms"] as? [Any])?.count == 1)
            let unknown = try stack.run(["stats", "--user", "nobody"], log: "unknown.log")
            #expect(unknown.status == 1 && unknown.output.contains("unknown user"), "\(unknown.output)")
            #expect(try stack.run(["stats", "--user", "alice", "--source", "shadow"], log: "shadow.log").status == 1)
            #expect(try stack.run(["stats", "--user", "alice", "--source", "staging"], log: "bad.log").status == 64)
        }
    }

    @Test func aResetRemovesTheStateAndRedeliveredOrRepublishedOldEventsDoNotRebuildIt() async throws {
        try await OperationsStack.with { stack in
            var daemon = try stack.startDaemon(log: "daemon-1.log")
            defer { daemon.stop(timeout: .seconds(30)) }
            let database = try stack.connectDatabase()
            defer { database.close() }
            let nats = try stack.connectNATS()
            defer { nats.close() }
            let decision = Self.decision("alice", arm: "b")
            let signals = [decision]
            let feedback = [
                Self.inline("alice", arm: "a", reward: 1), Self.inline("alice", arm: "a", reward: 0.5),
                Self.joined("alice", decision, reward: 0.75),
                Self.inline("alice", arm: "a", reward: 1, source: .synthetic),
                Self.inline("bob", arm: "a", reward: 1),
            ]
            try stack.publish(signals, on: nats)
            try stack.publish(feedback, on: nats)
            try stack.waitForProcessed(6, database)
            func rows(_ user: String, _ source: String) throws -> Int {
                try database.query(
                    "SELECT count(*) FROM bandit_state WHERE user_id = $1 AND source = $2", [user, source]
                ).rows[0].int(0)
            }
            func resets() throws -> Int { try database.query("SELECT count(*) FROM state_resets").rows[0].int(0) }
            #expect(try rows("alice", "prod") == 2)

            // Exactly one of --dry-run and --yes.
            #expect(try stack.run(["state", "reset", "--user", "alice"], log: "none.log").status == 64)
            #expect(
                try stack.run(["state", "reset", "--user", "alice", "--dry-run", "--yes"], log: "both.log").status == 64
            )

            // A dry run lists what would go and changes nothing.
            let dry = try #require(
                try OperationsStack.json(
                    try stack.command(
                        ["state", "reset", "--user", "alice", "--source", "prod", "--dry-run"], log: "dry.log"))
                    as? [String: Any])
            #expect(dry["dry_run"] as? Bool == true)
            #expect(dry["rows"] as? Int == 2)
            #expect((dry["removed"] as? [[String: Any]])?.map { $0["arm_id"] as? String } == ["a", "b"])
            #expect((dry["resets"] as? [Any])?.isEmpty == true)
            #expect(try rows("alice", "prod") == 2)
            #expect(try resets() == 0)
            let dryTable = try stack.command(
                ["state", "reset", "--user", "alice", "--source", "prod", "--dry-run", "--format", "table"],
                log: "dt.log")
            #expect(dryTable.contains("removed:") && dryTable.contains("dry_run  true"), "\(dryTable)")

            // The reset: alice's prod rows go, her synthetic row and bob's stay; one audit row.
            let reset = try #require(
                try OperationsStack.json(
                    try stack.command(
                        ["state", "reset", "--user", "alice", "--source", "prod", "--yes"], log: "reset.log"))
                    as? [String: Any])
            #expect(reset["rows"] as? Int == 2)
            let recorded = try #require((reset["resets"] as? [[String: Any]])?.first)
            #expect(recorded["policy"] as? String == "linucb_v1")
            #expect(recorded["source"] as? String == "prod")
            #expect(recorded["rows"] as? Int == 2)
            #expect(try rows("alice", "prod") == 0)
            #expect(try rows("alice", "synthetic") == 1)
            #expect(try rows("bob", "prod") == 1)
            let audit = try database.query("SELECT reset_id::text, user_id, policy, source, rows FROM state_resets")
                .rows
            #expect(audit.count == 1)
            #expect(try audit[0].string(0) == recorded["reset_id"] as? String)
            #expect(try audit[0].string(1) == "alice")
            #expect(try audit[0].int(4) == 2)

            // Re-published under new Nats-Msg-Ids: ledger duplicates, acked without effect.
            func settled() throws -> Bool {
                for (stream, consumer) in [
                    ("SIGNALS", "feature-pipeline-signals"), ("FEEDBACK", "feature-pipeline-feedback"),
                ] {
                    let info = try nats.consumerInfo(stream: stream, consumer: consumer)
                    let last = try nats.streamInfo(stream).state.lastSequence
                    guard info.pending == 0, info.ackPending == 0, info.ackFloor.streamSequence == last else {
                        return false
                    }
                }
                return true
            }
            try stack.publish(signals, on: nats, msgIDSuffix: "-again")
            try stack.publish(feedback, on: nats, msgIDSuffix: "-again")
            #expect(try nats.streamInfo("FEEDBACK").state.messages == 10)
            try waitUntil(timeout: .seconds(30), poll: .milliseconds(100)) { try settled() }
            #expect(try database.query("SELECT count(*) FROM processed_events").rows[0].int(0) == 6)
            #expect(try rows("alice", "prod") == 0)

            // Redelivered: the consumers are deleted and recreated, so every message of both streams is
            // delivered again to a fresh daemon.
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
            try nats.deleteConsumer(stream: "SIGNALS", consumer: "feature-pipeline-signals")
            try nats.deleteConsumer(stream: "FEEDBACK", consumer: "feature-pipeline-feedback")
            daemon = try stack.startDaemon(log: "daemon-2.log", readyCount: 2)
            try waitUntil(timeout: .seconds(30), poll: .milliseconds(100)) { try settled() }
            let redelivered = try nats.consumerInfo(stream: "FEEDBACK", consumer: "feature-pipeline-feedback")
            #expect(redelivered.delivered.streamSequence == 10)
            #expect(try database.query("SELECT count(*) FROM processed_events").rows[0].int(0) == 6)
            #expect(try rows("alice", "prod") == 0)
            #expect(try nats.streamInfo("DEADLETTER").state.messages == 0)

            // A new event builds the state again from zero.
            try stack.publish([Self.inline("alice", arm: "a", reward: 0.375)], on: nats)
            try stack.waitForProcessed(7, database)
            let fresh = try database.query(
                "SELECT n, reward_sum FROM bandit_state WHERE user_id = 'alice' AND source = 'prod'"
            ).rows
            #expect(fresh.count == 1)
            #expect(try fresh[0].int(0) == 1)
            #expect(try fresh[0].double(1) == 0.375)

            // Without --source every source goes (with --yes): one audit row per (policy, source).
            let all = try #require(
                try OperationsStack.json(
                    try stack.command(["state", "reset", "--user", "alice", "--yes"], log: "all.log"))
                    as? [String: Any])
            #expect(all["rows"] as? Int == 2)
            #expect((all["resets"] as? [[String: Any]])?.map { $0["source"] as? String } == ["prod", "synthetic"])
            #expect(try rows("alice", "synthetic") == 0)
            #expect(try resets() == 3)
            // Nothing left: nothing removed, nothing recorded.
            let empty = try #require(
                try OperationsStack.json(
                    try stack.command(["state", "reset", "--user", "alice", "--yes"], log: "e.log"))
                    as? [String: Any])
            #expect(empty["rows"] as? Int == 0)
            #expect(try resets() == 3)
        }
    }

    @Test func cellsTopScoreAndDlqListPrintTheJSONsContentAsTables() async throws {
        try await OperationsStack.with { stack in
            let daemon = try stack.startDaemon(log: "daemon.log")
            defer { daemon.stop(timeout: .seconds(30)) }
            let database = try stack.connectDatabase()
            defer { database.close() }
            let nats = try stack.connectNATS()
            defer { nats.close() }
            // Routing outcomes: code|m1|low ×5, embed|m2|high ×3, chat|m1|standard ×2, general|m3|low ×1.
            var events: [Event] = []
            for (taskType, model, band, count) in [
                (TaskType.code, "m1", ConstraintBand.low, 5), (.embed, "m2", .high, 3), (.chat, "m1", .standard, 2),
                (.general, "m3", .low, 1),
            ] {
                for index in 0..<count {
                    events.append(
                        .routing(
                            try! RoutingOutcome(
                                eventID: UUID(), occurredAt: Date(), userID: index % 2 == 0 ? "u1" : "u2",
                                inferenceID: UUID(), taskType: taskType, taskTypeSource: .caller,
                                policyVersion: "routing_v1@1.0.0+a3f9c2e1", model: model, provider: "p",
                                constraintBand: band, reward: 0.5, latencyMs: 10, costUSD: 0.001, completed: true,
                                banditUpdate: .init(
                                    policy: "routing_v1", features: [1, Double(index), 0, 0, 0, 0, 0, 0]))))
                }
            }
            try stack.publish(events, on: nats)
            try nats.publish(subject: "feedback.reward", body: Array(#"{"event_id": "#.utf8))  // a dead letter
            try stack.waitForProcessed(11, database)
            try waitUntil(timeout: .seconds(20)) { try nats.streamInfo("DEADLETTER").state.messages == 1 }

            // report cells --top: the most frequent cells with their tier, besides the counts.
            let cells = try #require(
                try OperationsStack.json(try stack.command(["report", "cells", "--top", "3"], log: "cells.log"))
                    as? [String: Any])
            let top = try #require(cells["top"] as? [[String: Any]])
            #expect(top.map { $0["cell"] as? String } == ["code|m1|low", "embed|m2|high", "chat|m1|standard"])
            #expect(top.map { $0["count"] as? Int } == [5, 3, 2])
            #expect(top.map { $0["tier"] as? Int } == [1, 2, 1])
            #expect((cells["total"] as? [String: Any])?["cells"] as? Int == 4)
            #expect(cells["rows"] is [Any])
            let noTop = try #require(
                try OperationsStack.json(try stack.command(["report", "cells"], log: "cells-2.log")) as? [String: Any])
            #expect(noTop["top"] == nil)
            let u2 = try #require(
                try OperationsStack.json(
                    try stack.command(["report", "cells", "--user", "u2", "--top", "1"], log: "c3.log"))
                    as? [String: Any])
            #expect((u2["top"] as? [[String: Any]])?.first?["count"] as? Int == 2)  // code|m1|low: indices 1, 3
            let cellsTable = OperationsStack.stdout(
                try stack.command(["report", "cells", "--top", "3", "--format", "table"], log: "cells-t.log"))
            let lines = cellsTable.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(lines.contains(["total.cells", "4"]), "\(cellsTable)")
            #expect(lines.contains(["total.tier1_cells", "2"]))
            #expect(lines.contains(["cell", "count", "tier"]))
            #expect(lines.contains(["code|m1|low", "5", "1"]))
            #expect(lines.contains(["embed|m2|high", "3", "2"]))
            #expect(lines.contains(["user_id", "source", "cells", "tier1_cells", "tier2_cells"]))
            #expect(lines.contains(["u1", "prod", "4", "2", "2"]))

            // score: JSON and table, the same arms and numbers (rounded).
            let scoreArguments = ["score", "--user", "u1", "--policy", "routing_v1", "--features", "1,2,0,0,0,0,0,0"]
            let ranked = try #require(
                try OperationsStack.json(try stack.command(scoreArguments, log: "score.log")) as? [[String: Any]])
            #expect(ranked.count == 3)  // u1 routed to m1, m2 and m3
            let scoreTable = OperationsStack.stdout(
                try stack.command(scoreArguments + ["--format", "table"], log: "score-t.log"))
            let scoreLines = scoreTable.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(scoreLines.first == ["arm_id", "score", "mean", "n"])
            #expect(scoreLines.count == 2 + ranked.count)
            for (line, arm) in zip(scoreLines.dropFirst(2), ranked) {
                #expect(line[0] == arm["arm_id"] as? String)
                #expect(line[1] == String(format: "%.4f", arm["score"] as? Double ?? .nan))
                #expect(line[2] == String(format: "%.4f", arm["mean"] as? Double ?? .nan))
                #expect(line[3] == "\(arm["n"] as? Int ?? -1)")
            }

            // dlq list: JSON (one object per line) by default; a table on request.
            let dlq = try stack.command(["dlq", "list"], log: "dlq.log")
            let letter = try #require(try OperationsStack.json(dlq) as? [String: Any])
            #expect(letter["reason"] as? String == "json.invalid")
            #expect(try stack.command(["dlq", "list", "--json"], log: "dlq-j.log") == dlq)
            let dlqTable = try stack.command(["dlq", "list", "--format", "table"], log: "dlq-t.log")
            let dlqLines = OperationsStack.stdout(dlqTable).split(separator: "\n").map {
                $0.split(separator: " ").map(String.init)
            }
            #expect(
                dlqLines.first == [
                    "seq", "stored_at", "subject", "reason", "deliveries", "stream", "stream_seq", "body_bytes",
                    "detail",
                ])
            let row = try #require(dlqLines.dropFirst(2).first)
            #expect(
                Array(row.prefix(8)) == [
                    "\(letter["seq"] as? Int ?? -1)", letter["stored_at"] as? String ?? "", "feedback.reward",
                    "json.invalid",
                    "1", "FEEDBACK", "\(letter["stream_seq"] as? Int ?? -1)", "\(letter["body_bytes"] as? Int ?? -1)",
                ])
            #expect(dlqTable.contains("1 dead letter(s)"))
            #expect(try stack.run(["dlq", "list", "--json", "--format", "table"], log: "dlq-x.log").status == 64)
        }
    }
}
