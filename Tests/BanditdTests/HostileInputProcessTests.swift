import BanditCore
import Foundation
import NATSKit
import PostgresKit
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real daemon against hostile input: SQL-looking strings stored and read back unchanged,
/// a corpus of malformed messages interleaved with valid ones, and a soak that watches RSS and
/// descriptors.
@Suite(.postgresServer, .serialized)
struct HostileInputProcessTests {
    /// Strings that break naive SQL, array literals, CSV and JSON: arm, tip, model and provider ids.
    static let nastyStrings: [String] = [
        "'); DROP TABLE decisions; --",
        "Robert'); DROP TABLE bandit_state;--",
        "a\"b\\c",
        "{x,y}",
        "{\"json\":[1,2]}",
        "NULL",
        "null",
        "\\N",
        "a,b,c",
        "  spaced  ",
        "$1",
        "'' OR 1=1 --",
        "back\\\\slash\\",
        "tab\there",
        "🧪 é e\u{0301} 漢字 Ωμέγα",
        "}{\"",
        "%s%n%x",
        String(repeating: "é", count: 128),
    ]

    /// The user id charset's edges: every allowed punctuation, and 128 characters long.
    static let edgeUsers: [String] = [
        "A-Za-z0-9._:@-",
        "..--::@@__",
        String(repeating: "Z", count: 119) + "._:@-az09",
    ]

    private static func decode(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    @Test func sqlLookingStringsAreStoredAndReadBackUnchangedFromEveryTable() async throws {
        try await OperationsStack.with { stack in
            let daemon = try stack.startDaemon(log: "nasty.log")
            defer { daemon.stop() }
            let nats = try stack.connectNATS()
            var decisionIDs: [String: UUID] = [:]
            var published = 0
            for (index, nasty) in Self.nastyStrings.enumerated() {
                let user = Self.edgeUsers[index % Self.edgeUsers.count]
                let decisionID = UUID()
                decisionIDs[nasty] = decisionID
                let other = "plain-\(index)"
                let provider = String(nasty.prefix(64))
                let bodies: [(String, String)] = [
                    (
                        "signals.decision",
                        HostileCorpus.decision(user: user, decisionID: decisionID, arm: nasty, other: other)
                    ),
                    ("signals.tip.feedback", HostileCorpus.tip(user: user, tip: nasty)),
                    ("feedback.routing", HostileCorpus.routing(user: user, model: nasty, provider: provider)),
                    ("signals.task.synced", HostileCorpus.taskSynced(user: user, count: "\(index)")),
                ]
                for (subject, body) in bodies {
                    try nats.publish(subject: subject, body: Array(body.utf8))
                    published += 1
                }
                // The reward joins the decision (the decision's arm) once it is stored.
                let reward =
                    "{\(HostileCorpus.envelope(user: user)),\"source\":\"prod\",\"reward\":1,"
                    + "\"decision_id\":\"\(decisionID.uuidString)\"}"
                try nats.publish(subject: "feedback.reward", body: Array(reward.utf8))
                published += 1
            }
            let database = try stack.connectDatabase()
            // Every event in the ledger, and no reward still parked for its decision.
            try waitUntil(timeout: .seconds(60)) {
                try database.query(
                    "SELECT (SELECT count(*) FROM processed_events) - (SELECT count(*) FROM parked_rewards)"
                ).rows[0].int(0) == published
            }
            #expect(try nats.streamInfo("DEADLETTER").state.messages == 0)

            for (index, nasty) in Self.nastyStrings.enumerated() {
                let user = Self.edgeUsers[index % Self.edgeUsers.count]
                let decisionID = try #require(decisionIDs[nasty])
                // decisions: arm_id, candidates, user_id, the reward joined.
                let decision = try database.query(
                    "SELECT json_build_array(arm_id, candidates, user_id, reward)::text FROM decisions WHERE decision_id = $1",
                    [decisionID.uuidString]
                ).rows
                #expect(decision.count == 1)
                let fields = try #require(try Self.decode(decision[0].string(0)) as? [Any])
                #expect(fields[0] as? String == nasty)
                #expect(fields[1] as? [String] == [nasty, "plain-\(index)"])
                #expect(fields[2] as? String == user)
                #expect((fields[3] as? NSNumber)?.doubleValue == 1)
                // bandit_state: the decision's arm, via the reward; and the routing model.
                for policy in ["linucb_v1", "routing_v1"] {
                    let state = try database.query(
                        "SELECT json_build_array(arm_id, user_id)::text FROM bandit_state WHERE policy = $1 AND arm_id = $2",
                        [policy, nasty]
                    ).rows
                    #expect(state.count == 1, "\(policy) \(nasty)")
                    if let row = state.first {
                        let values = try #require(try Self.decode(row.string(0)) as? [String])
                        #expect(values == [nasty, user])
                    }
                }
                // tip_feedback.
                let tips = try database.query(
                    "SELECT json_build_array(tip_id, user_id)::text FROM tip_feedback WHERE tip_id = $1", [nasty]
                ).rows
                #expect(tips.count == 1)
                if let row = tips.first { #expect(try Self.decode(row.string(0)) as? [String] == [nasty, user]) }
                // routing_outcomes: model, provider and the derived cell.
                let routing = try database.query(
                    "SELECT json_build_array(model, provider, cell, user_id)::text FROM routing_outcomes WHERE model = $1",
                    [nasty]
                ).rows
                #expect(routing.count == 1)
                if let row = routing.first {
                    #expect(
                        try Self.decode(row.string(0)) as? [String] == [
                            nasty, String(nasty.prefix(64)), "code|\(nasty)|standard", user,
                        ])
                }
            }
            // user_sync: every edge user.
            let users = try database.query("SELECT user_id FROM user_sync ORDER BY user_id").rows.map {
                try $0.string(0)
            }
            #expect(Set(users) == Set(Self.edgeUsers))
            // The tables are all still there.
            #expect(
                try database.query(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('decisions', 'bandit_state', 'tip_feedback', 'routing_outcomes', 'user_sync', 'processed_events')"
                ).rows[0].int(0) == 6)
            #expect(daemon.isRunning)
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    @Test func everyMalformedClassIsDeadLetteredWithItsReasonAndEveryValidEventIsApplied() async throws {
        // The corpus itself: each class is rejected by the decoder with the reason it claims.
        let decoder = EventDecoder(policies: PolicyRegistry.defaults)
        let classes = HostileCorpus.cases()
        #expect(classes.count >= 40)
        #expect(Set(classes.map(\.name)).count == classes.count)
        for hostile in classes {
            switch decoder.decode(subject: hostile.subject, headers: [:], body: hostile.body, now: Date()) {
            case .success: Issue.record("corpus class \"\(hostile.name)\" decodes")
            case .failure(let rejection):
                #expect(rejection.reason.rawValue == hostile.reason, "class \"\(hostile.name)\": \(rejection.detail)")
            }
        }

        try await OperationsStack.with { stack in
            var environment = stack.environment
            environment["BANDITD_BATCH_SIZE"] = "128"
            let daemon = try stack.startDaemon(environment: environment, log: "hostile.log")
            defer { daemon.stop() }
            let nats = try stack.connectNATS()
            let rounds = 10
            let goodPerBad = 3
            var messages: [NATSConnection.OutgoingMessage] = []
            var expectedReason: [String: (name: String, reason: String)] = [:]
            var good = 0
            for round in 0..<rounds {
                for (index, hostile) in HostileCorpus.cases().enumerated() {
                    let id = "bad-\(round)-\(index)"
                    expectedReason[id] = (hostile.name, hostile.reason)
                    messages.append(.init(subject: hostile.subject, headers: ["Nats-Msg-Id": id], body: hostile.body))
                    for _ in 0..<goodPerBad {
                        let body =
                            good % 2 == 0
                            ? HostileCorpus.inlineReward(user: "good-\(good % 50)", arm: "arm-\(good % 4)")
                            : HostileCorpus.taskSynced(user: "good-\(good)", count: "\(good)")
                        messages.append(
                            .init(
                                subject: good % 2 == 0 ? "feedback.reward" : "signals.task.synced",
                                headers: ["Nats-Msg-Id": "good-\(good)"], body: Array(body.utf8)))
                        good += 1
                    }
                }
            }
            let started = ContinuousClock.now
            _ = try nats.publishPipelined(messages)
            let publishTime = ContinuousClock.now - started
            let database = try stack.connectDatabase()
            try waitUntil(timeout: .seconds(90)) {
                try database.query(
                    "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
                ).rows[0].int(0) == good
                    && (try nats.streamInfo("DEADLETTER").state.messages) == UInt64(expectedReason.count)
            }
            let drainTime = ContinuousClock.now - started
            print(
                "hostile corpus: \(expectedReason.count / rounds) classes × \(rounds) rounds + \(good) valid events, "
                    + "published in \(publishTime), all settled in \(drainTime)")

            var seen: Set<String> = []
            var from: UInt64 = 1
            while let letter = try nats.nextMessage(stream: "DEADLETTER", from: from, subject: "deadletter.>") {
                from = letter.sequence + 1
                let original = letter.headers["Deadletter-Original-Msg-Id"] ?? "?"
                guard let expected = expectedReason[original] else {
                    Issue.record("unexpected dead letter \(original): \(letter.headers["Deadletter-Reason"] ?? "-")")
                    continue
                }
                seen.insert(original)
                #expect(
                    letter.headers["Deadletter-Reason"] == expected.reason,
                    "class \"\(expected.name)\": \(letter.headers["Deadletter-Reason"] ?? "-") \(letter.headers["Deadletter-Detail"] ?? "-")"
                )
                #expect(letter.headers["Deadletter-Detail"]?.isEmpty == false, "class \"\(expected.name)\"")
            }
            #expect(seen.count == expectedReason.count)
            #expect(try database.query("SELECT count(*) FROM user_sync").rows[0].int(0) == good / 2)
            #expect(daemon.isRunning)
            let health = try stack.command(["health", "--socket", stack.healthSocket], log: "health.log")
            #expect(health.contains(#""status":"ready""#))
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    /// Seconds of steady load: `BANDITD_SOAK_SECONDS` (default 30, as `make test` runs it).
    static var soakSeconds: Int {
        ProcessInfo.processInfo.environment["BANDITD_SOAK_SECONDS"].flatMap { Int($0) } ?? 30
    }

    @Test func aSoakAtASteadyRateKeepsRSSAndDescriptorsFlat() async throws {
        let seconds = Self.soakSeconds
        let rate = ProcessInfo.processInfo.environment["BANDITD_SOAK_RATE"].flatMap { Int($0) } ?? 400
        try await OperationsStack.with { stack in
            let daemon = try stack.startDaemon(log: "soak.log")
            defer { daemon.stop() }
            let nats = try stack.connectNATS()
            let database = try stack.connectDatabase()
            var samples: [(second: Int, rssKB: Int, fds: Int)] = []
            var published = 0
            var bad = 0
            let corpus = HostileCorpus.cases()
            let clock = ContinuousClock()
            let start = clock.now
            for second in 0..<seconds {
                var messages: [NATSConnection.OutgoingMessage] = []
                for index in 0..<rate {
                    let n = published + index
                    if n % 20 == 19 {
                        let hostile = corpus[(n / 20) % corpus.count]
                        messages.append(.init(subject: hostile.subject, body: hostile.body))
                        bad += 1
                    } else if n % 3 == 0 {
                        messages.append(
                            .init(
                                subject: "signals.task.synced",
                                body: Array(
                                    HostileCorpus.taskSynced(user: "soak-\(n % 500)", count: "\(n % 1000)").utf8)))
                    } else {
                        messages.append(
                            .init(
                                subject: "feedback.reward",
                                body: Array(
                                    HostileCorpus.inlineReward(user: "soak-\(n % 500)", arm: "arm-\(n % 7)").utf8)))
                    }
                }
                _ = try nats.publishPipelined(messages)
                published += rate
                let resources = try processResources(daemon.pid)
                samples.append((second, resources.rssKB, resources.fds))
                let remaining = (start + .seconds(second + 1)) - clock.now
                if remaining > .zero {
                    Thread.sleep(
                        forTimeInterval: Double(remaining.components.attoseconds) / 1e18
                            + Double(remaining.components.seconds))
                }
                if !daemon.isRunning { break }
            }
            #expect(daemon.isRunning)
            try waitUntil(timeout: .seconds(120)) {
                try database.query(
                    "SELECT count(*) FROM processed_events AS p WHERE NOT EXISTS (SELECT FROM parked_rewards AS r WHERE r.event_id = p.event_id)"
                ).rows[0].int(0) == published - bad
            }
            #expect(try nats.streamInfo("DEADLETTER").state.messages == UInt64(bad))
            let third = max(1, samples.count / 3)
            let first = samples.prefix(third)
            let last = samples.suffix(third)
            let firstRSS = first.map(\.rssKB).max() ?? 0
            let lastRSS = last.map(\.rssKB).max() ?? 0
            let firstFDs = first.map(\.fds).max() ?? 0
            let lastFDs = last.map(\.fds).max() ?? 0
            let report =
                "soak: \(samples.count) s at \(rate) msg/s (\(published) messages, \(bad) malformed); "
                + "RSS kB first third max \(firstRSS), last third max \(lastRSS), overall min \(samples.map(\.rssKB).min() ?? 0) max \(samples.map(\.rssKB).max() ?? 0); "
                + "fds first third max \(firstFDs), last third max \(lastFDs)"
            print(report)
            print(
                "soak samples (s rssKB fds): "
                    + samples.map { "\($0.second) \($0.rssKB) \($0.fds)" }.joined(separator: "; "))
            // Flat: the last third's peak is within 10 % + 4 MB of the first third's peak, and no
            // more than 2 descriptors above it.
            #expect(Double(lastRSS) <= Double(firstRSS) * 1.10 + 4096, "\(report)")
            #expect(lastFDs <= firstFDs + 2, "\(report)")
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: .seconds(30)) == 0)
        }
    }
}
