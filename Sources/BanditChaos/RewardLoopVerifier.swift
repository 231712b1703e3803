import Foundation
import NATSKit
import PostgresKit

/// Proves `reward-window-kills` from the database and DEADLETTER alone: every decision closed
/// exactly as planned (`reward_origin`, `reward`, `rewarded_event_id`, `rewarded_at` in its
/// window's terms), the state rows equal to a recomputation from the planned events, the ledger
/// and DEADLETTER holding exactly what they must.
enum RewardLoopVerifier {
    struct Verdict {
        var failures: [String] = []
        var decisions = 0
        var origins: [String: Int] = [:]
        /// Seconds from a window passing to its closing with the default, smallest and largest.
        var closingDelay: ClosedRange<Double> = 0...0
        var alreadyRewarded = 0
    }

    /// The contract's bound: closed within 15 s of the window passing while a daemon runs.
    static let closingBound = 15.0

    /// Raw sufficient statistics, recomputed here with plain loops (independent of BanditMath).
    struct ExpectedArm {
        var a: [Double]
        var b: [Double]
        var n: Int64 = 0
        var rewardSum = 0.0

        init(dimension: Int) {
            a = Array(repeating: 0, count: dimension * dimension)
            b = Array(repeating: 0, count: dimension)
        }

        /// n + 1, a += x xᵀ, b += r x, reward_sum += r.
        mutating func update(_ x: [Double], reward r: Double) {
            n += 1
            for i in x.indices {
                for j in x.indices { a[i * x.count + j] += x[i] * x[j] }
                b[i] += r * x[i]
            }
            rewardSum += r
        }

        /// The late correction of CONTRACT section 8: b += (r − default) x, reward_sum += (r −
        /// default); n and a stay.
        mutating func correct(_ x: [Double], by delta: Double) {
            for i in x.indices { b[i] += delta * x[i] }
            rewardSum += delta
        }
    }

    static func expectedState(_ decisions: [RewardLoopEventSet.PlannedDecision]) -> [ChaosEventSet.StateKey:
        ExpectedArm]
    {
        var expected: [ChaosEventSet.StateKey: ExpectedArm] = [:]
        for decision in decisions {
            let x = decision.features
            var arm = expected[decision.stateKey] ?? ExpectedArm(dimension: x.count)
            switch decision.fate {
            case .onTime:
                arm.update(x, reward: decision.reward!)
            case .byDefault:
                arm.update(x, reward: decision.policy.defaultReward)
            case .late:
                arm.update(x, reward: decision.policy.defaultReward)
                arm.correct(x, by: decision.reward! - decision.policy.defaultReward)
            }
            expected[decision.stateKey] = arm
        }
        return expected
    }

    static func verify(
        _ planned: [RewardLoopEventSet.PlannedDecision], windowSeconds: Int, stack: ChaosStack
    ) -> Verdict {
        var verdict = Verdict()
        func check(_ condition: Bool, _ message: @autoclosure () -> String) {
            if !condition { verdict.failures.append(message()) }
        }
        let window = Double(windowSeconds)
        do {
            // decisions: one row per planned decision, closed exactly as planned.
            let rows = try stack.query(
                """
                SELECT decision_id::text, reward_origin, reward, rewarded_event_id::text,
                       extract(epoch FROM rewarded_at - occurred_at)::float8
                FROM decisions
                """
            ).rows
            var found: [UUID: (origin: String?, reward: Double?, rewardEvent: String?, age: Double?)] = [:]
            for row in rows {
                guard let id = UUID(uuidString: try row.string(0)) else { continue }
                found[id] = (
                    try row.optionalString(1), try row.optionalString(2).map { _ in try row.double(2) },
                    try row.optionalString(3), try row.optionalString(4).map { _ in try row.double(4) }
                )
            }
            verdict.decisions = rows.count
            check(rows.count == planned.count, "decisions: \(rows.count) rows, expected \(planned.count)")
            var wrongOrigin: [String: Int] = [:]
            var wrongReward = 0
            var wrongEvent = 0
            var missing = 0
            var tooEarly = 0
            var tooLate = 0
            var delays: [Double] = []
            for decision in planned {
                guard let row = found[decision.decisionID] else {
                    missing += 1
                    continue
                }
                let origin = row.origin ?? "open"
                verdict.origins[origin, default: 0] += 1
                if origin != decision.fate.rawValue {
                    wrongOrigin["expected '\(decision.fate.rawValue)', got '\(origin)'", default: 0] += 1
                    continue
                }
                if row.reward.map({ !Verifier.close($0, decision.finalReward) }) ?? true { wrongReward += 1 }
                let expectedEvent = decision.fate == .byDefault ? nil : decision.rewardEventID!.uuidString.lowercased()
                if row.rewardEvent?.lowercased() != expectedEvent { wrongEvent += 1 }
                guard let age = row.age else {
                    tooEarly += 1
                    continue
                }
                switch decision.fate {
                case .onTime:
                    if age >= window { tooLate += 1 }
                case .byDefault:
                    delays.append(age - window)
                    if age < window { tooEarly += 1 }
                    if age > window + closingBound { tooLate += 1 }
                case .late:
                    if age < window { tooEarly += 1 }
                }
            }
            check(missing == 0, "\(missing) planned decisions have no row")
            for (what, count) in wrongOrigin.sorted(by: { $0.key < $1.key }) {
                check(false, "\(count) decisions: \(what)")
            }
            check(wrongReward == 0, "\(wrongReward) decisions hold a wrong reward")
            check(wrongEvent == 0, "\(wrongEvent) decisions hold a wrong rewarded_event_id")
            check(
                tooEarly == 0,
                "\(tooEarly) decisions closed (or late-corrected) before their window passed, or without rewarded_at")
            check(
                tooLate == 0,
                "\(tooLate) decisions rewarded on time after their window, or closed more than \(Int(closingBound)) s after it"
            )
            verdict.closingDelay = (delays.min() ?? 0)...(delays.max() ?? 0)

            // bandit_state: every row against the recomputation, within 1e-9 relative.
            let expected = expectedState(planned)
            var seen = Set<ChaosEventSet.StateKey>()
            var mismatched = 0
            var firstMismatch: String?
            for row in try stack.query(
                "SELECT user_id, policy, source, arm_id, a, b, n, reward_sum FROM bandit_state"
            ).rows {
                let key = ChaosEventSet.StateKey(
                    user: try row.string(0), policy: try row.string(1), arm: try row.string(3))
                seen.insert(key)
                guard try row.string(2) == "prod", let want = expected[key] else {
                    mismatched += 1
                    firstMismatch = firstMismatch ?? "unexpected state row \(key)"
                    continue
                }
                let n = try row.int64(6)
                let a = try row.doubleArray(4)
                let b = try row.doubleArray(5)
                let rewardSum = try row.double(7)
                if n != want.n || !Verifier.close(rewardSum, want.rewardSum) || a.count != want.a.count
                    || b.count != want.b.count || !zip(a, want.a).allSatisfy(Verifier.close)
                    || !zip(b, want.b).allSatisfy(Verifier.close)
                {
                    mismatched += 1
                    firstMismatch =
                        firstMismatch
                        ?? "state \(key.user)/\(key.policy)/\(key.arm): n \(n) vs \(want.n), reward_sum \(rewardSum) vs \(want.rewardSum)"
                }
            }
            check(mismatched == 0, "\(mismatched) bandit_state rows differ (\(firstMismatch ?? ""))")
            check(
                seen == Set(expected.keys),
                "bandit_state has \(seen.count) keys, expected \(expected.count)")

            // processed_events: every decision and every first reward once; no second reward.
            var events = Set(planned.map { $0.eventID.uuidString.lowercased() })
            for decision in planned {
                if let reward = decision.rewardEventID { events.insert(reward.uuidString.lowercased()) }
            }
            let ledger = try stack.query("SELECT event_id::text FROM processed_events").rows.map { try $0.string(0) }
            check(
                ledger.count == events.count && Set(ledger) == events,
                "processed_events: \(ledger.count) rows, \(events.subtracting(ledger).count) missing, \(Set(ledger).subtracting(events).count) unexpected"
            )
            let parked = try stack.query("SELECT count(*) FROM parked_rewards").rows[0].int(0)
            check(parked == 0, "parked_rewards still holds \(parked) rows")
        } catch {
            verdict.failures.append("database check failed: \(error)")
        }

        // DEADLETTER: exactly the second rewards, as decision.already_rewarded, once each.
        do {
            let seconds = Set(planned.compactMap { $0.secondRewardEventID?.uuidString.lowercased() })
            var letters: [String: Int] = [:]
            var reasons: [String: Int] = [:]
            var sequence: UInt64 = 1
            while let letter = try stack.connection.nextMessage(
                stream: "DEADLETTER", from: sequence, subject: "deadletter.>")
            {
                sequence = letter.sequence + 1
                letters[(letter.headers["Deadletter-Original-Msg-Id"] ?? "?").lowercased(), default: 0] += 1
                reasons[letter.headers["Deadletter-Reason"] ?? "?", default: 0] += 1
            }
            verdict.alreadyRewarded = reasons["decision.already_rewarded"] ?? 0
            check(letters.values.allSatisfy { $0 == 1 }, "some messages were dead-lettered twice")
            check(
                Set(letters.keys) == seconds,
                "DEADLETTER holds \(letters.count) messages, expected the \(seconds.count) second rewards (reasons \(reasons))"
            )
            check(
                reasons.keys.allSatisfy { $0 == "decision.already_rewarded" },
                "unexpected dead-letter reasons: \(reasons)")
        } catch {
            verdict.failures.append("DEADLETTER read failed: \(error)")
        }
        return verdict
    }
}
