import BanditMath
import Foundation
import NATSKit
import PostgresKit

/// Proves exactly-once from the database (and the DEADLETTER stream) alone.
enum Verifier {
    /// Returns the list of failures (empty when every check holds).
    static func verify(_ set: ChaosEventSet, stack: ChaosStack) -> [String] {
        var failures: [String] = []
        func check(_ condition: Bool, _ message: @autoclosure () -> String) {
            if !condition { failures.append(message()) }
        }
        do {
            // processed_events: every valid event once, nothing else.
            let ids = try stack.query("SELECT event_id::text FROM processed_events").rows.map { try $0.string(0) }
            let idSet = Set(ids)
            check(
                ids.count == set.validEventIDs.count,
                "processed_events has \(ids.count) rows, expected \(set.validEventIDs.count)")
            check(
                idSet == set.validEventIDs,
                "processed_events differs: \(set.validEventIDs.subtracting(idSet).count) missing, \(idSet.subtracting(set.validEventIDs).count) unexpected"
            )

            // Nothing may be left parked: every early reward found its decision.
            let parked = try stack.query("SELECT count(*) FROM parked_rewards").rows[0].int(0)
            check(parked == 0, "parked_rewards still holds \(parked) rows")

            // bandit_state: Σn and every a/b/n/reward_sum against the independent recomputation.
            let rows = try stack.query(
                "SELECT user_id, policy, source, arm_id, a, b, n, reward_sum FROM bandit_state"
            ).rows
            var seen = Set<ChaosEventSet.StateKey>()
            var totalN: Int64 = 0
            var mismatched = 0
            var firstMismatch: String?
            for row in rows {
                let key = ChaosEventSet.StateKey(
                    user: try row.string(0), policy: try row.string(1), arm: try row.string(3))
                let n = try row.int64(6)
                totalN += n
                seen.insert(key)
                guard try row.string(2) == "prod", let expected = set.expectedState[key] else {
                    mismatched += 1
                    firstMismatch = firstMismatch ?? "unexpected state row \(key)"
                    continue
                }
                let a = try row.doubleArray(4)
                let b = try row.doubleArray(5)
                let rewardSum = try row.double(7)
                let ok =
                    n == expected.n && close(rewardSum, expected.rewardSum) && a.count == expected.a.count
                    && b.count == expected.b.count && zip(a, expected.a).allSatisfy(close)
                    && zip(b, expected.b).allSatisfy(close)
                if !ok {
                    mismatched += 1
                    firstMismatch = firstMismatch ?? "state \(key): n \(n) vs \(expected.n)"
                }
            }
            check(totalN == set.rewardUpdates, "Σ bandit_state.n = \(totalN), expected \(set.rewardUpdates)")
            check(
                seen.count == set.expectedState.count,
                "bandit_state has \(seen.count) keys, expected \(set.expectedState.count)")
            check(mismatched == 0, "\(mismatched) bandit_state rows differ (\(firstMismatch ?? ""))")

            // decisions, joined rewards, routing outcomes, tip feedback, user sync.
            let decisions = try stack.query(
                "SELECT count(*), count(rewarded_event_id), coalesce(sum(reward), 0)::float8 FROM decisions"
            ).rows[0]
            let decisionRows = try decisions.int(0)
            let rewarded = try decisions.int(1)
            let rewardTotal = try decisions.double(2)
            check(decisionRows == set.decisions, "decisions: \(decisionRows) rows, expected \(set.decisions)")
            check(rewarded == set.joinedRewards, "decisions rewarded: \(rewarded), expected \(set.joinedRewards)")
            check(close(rewardTotal, set.joinedRewardSum), "Σ decisions.reward differs")
            let routing = try stack.query("SELECT count(*) FROM routing_outcomes").rows[0].int(0)
            check(routing == set.routingOutcomes, "routing_outcomes: \(routing), expected \(set.routingOutcomes)")
            let tips = try stack.query("SELECT count(*) FROM tip_feedback").rows[0].int(0)
            check(tips == set.tipFeedback, "tip_feedback: \(tips), expected \(set.tipFeedback)")
            let syncs = try stack.query("SELECT user_id, task_count FROM user_sync").rows
            var syncMap: [String: Int] = [:]
            for row in syncs { syncMap[try row.string(0)] = try row.int(1) }
            check(
                syncMap == set.userSync,
                "user_sync: \(syncMap.count) rows, expected \(set.userSync.count) (or counts differ)")
        } catch {
            failures.append("database check failed: \(error)")
        }

        // DEADLETTER: exactly the invalid messages, bodies byte for byte, no max_deliveries.
        do {
            var found: [String: [UInt8]] = [:]
            var duplicates = 0
            var reasons: [String: Int] = [:]
            var sequence: UInt64 = 1
            while let message = try stack.connection.nextMessage(
                stream: "DEADLETTER", from: sequence, subject: "deadletter.>")
            {
                sequence = message.sequence + 1
                let original = message.headers["Deadletter-Original-Msg-Id"] ?? "?"
                if found[original] != nil { duplicates += 1 }
                found[original] = message.body
                reasons[message.headers["Deadletter-Reason"] ?? "?", default: 0] += 1
            }
            check(duplicates == 0, "\(duplicates) duplicate dead letters")
            check(
                Set(found.keys) == Set(set.invalidBodies.keys),
                "DEADLETTER holds \(found.count) messages, expected the \(set.invalidBodies.count) invalid ones (reasons \(reasons))"
            )
            let differing = set.invalidBodies.filter { found[$0.key] != nil && found[$0.key] != $0.value }.count
            check(differing == 0, "\(differing) dead-letter bodies differ from the published bytes")
            check(reasons["max_deliveries"] == nil, "\(reasons["max_deliveries"] ?? 0) dead-lettered as max_deliveries")
        } catch {
            failures.append("DEADLETTER read failed: \(error)")
        }
        return failures
    }

    /// Relative tolerance 1e-9 (absolute near zero).
    static func close(_ lhs: Double, _ rhs: Double) -> Bool {
        abs(lhs - rhs) <= 1e-9 * max(1, abs(lhs), abs(rhs))
    }
}
