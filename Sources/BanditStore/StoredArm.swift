import BanditMath
import PostgresKit

/// Which version of a `bandit_state` row: where it is (`ctid`) and which transaction wrote it
/// (`xmin`). A write that names both (and the key) changes exactly that version or nothing: a
/// row updated, deleted or re-created since has another version.
struct RowVersion: Hashable, Sendable {
    var tid: PostgresTID
    var xmin: UInt32
}

/// A `bandit_state` row as read (or as this process last wrote it): its version and its sums.
struct StoredArm {
    var version: RowVersion
    var key: StateKey
    var statistics: ArmStatistics
    /// Forgetting: the reference time of the sums (seconds since the epoch) and the half-life
    /// they were kept with; nil when the row has no forgetting.
    var reference: Double?
    var halfLife: Double?

    var forgettingState: ForgettingState {
        ForgettingState(statistics: statistics, reference: reference, halfLife: halfLife)
    }

    /// Columns: ctid, user_id, policy, source, arm_id, dimension, a, b, n, reward_sum,
    /// forgetting_ref, half_life_s, xmin.
    static func rows(of result: PostgresResult) throws(PostgresError) -> [StoredArm] {
        var rows: [StoredArm] = []
        rows.reserveCapacity(result.rowCount)
        for row in 0..<result.rowCount {
            let key = StateKey(
                userID: try result.text(row, 1), policy: try result.text(row, 2), source: try result.text(row, 3),
                armID: try result.text(row, 4))
            let dimension = Int(try result.int64(row, 5))
            do {
                let statistics = try ArmStatistics(
                    dimension: dimension, a: try result.doubleArray(row, 6), b: try result.doubleArray(row, 7),
                    n: try result.int64(row, 8), rewardSum: try result.double(row, 9))
                rows.append(
                    StoredArm(
                        version: RowVersion(tid: try result.tid(row, 0), xmin: try result.xid(row, 12)), key: key,
                        statistics: statistics,
                        reference: try result.optionalTimestamp(row, 10)?.timeIntervalSince1970,
                        halfLife: try result.optionalDouble(row, 11)))
            } catch let error as BanditMathError {
                throw PostgresError(
                    operation: "read bandit_state", sqlState: .checkViolation,
                    message: "a bandit_state row has a malformed shape: \(error)")
            } catch let error as PostgresError {
                throw error
            } catch {
                throw PostgresError(operation: "read bandit_state", sqlState: nil, message: "\(error)")
            }
        }
        return rows
    }
}
