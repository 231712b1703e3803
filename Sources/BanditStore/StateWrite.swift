import BanditMath
import Foundation
import PostgresKit

/// The `bandit_state` writes of one transaction (`StoreStatements.writeState`): its statements
/// (an update of the rows that exist, an insert of the new ones, in that order) and what they
/// write, so that the rows' new versions can be remembered once the transaction committed.
struct StateWrite {
    var statements: [PostgresStatement] = []
    /// Existing rows: key, the version the update requires, the new sums.
    var changed: [(key: StateKey, version: RowVersion, state: ForgettingState)] = []
    /// New rows, keys ascending.
    var created: [(key: StateKey, state: ForgettingState)] = []

    /// The rows as written, with their new versions, from the results of `statements` (in
    /// order). Their sums are what a read of the committed rows returns (the reference time at
    /// timestamptz's microseconds).
    func writtenArms(_ results: ArraySlice<PostgresResult>) throws(PostgresError) -> [StoredArm] {
        var arms: [StoredArm] = []
        arms.reserveCapacity(changed.count + created.count)
        var next = results.startIndex
        if !changed.isEmpty {
            let result = results[next]
            next += 1
            for row in 0..<result.rowCount where !result.isNull(row, 0) {
                let ordinal = Int(try result.int64(row, 0))
                guard ordinal >= 1, ordinal <= changed.count else {
                    throw PostgresError(
                        operation: "apply", sqlState: nil, message: "the state update returned ordinal \(ordinal)")
                }
                let written = changed[ordinal - 1]
                arms.append(
                    StoredArm(
                        version: RowVersion(tid: try result.tid(row, 1), xmin: try result.xid(row, 2)),
                        key: written.key, state: written.state))
            }
        }
        if !created.isEmpty {
            let result = results[next]
            var byKey: [StateKey: ForgettingState] = [:]
            for row in created { byKey[row.key] = row.state }
            for row in 0..<result.rowCount where !result.isNull(row, 0) {
                let key = StateKey(
                    userID: try result.text(row, 0), policy: try result.text(row, 1), source: try result.text(row, 2),
                    armID: try result.text(row, 3))
                guard let state = byKey[key] else {
                    throw PostgresError(
                        operation: "apply", sqlState: nil, message: "the state insert returned another key")
                }
                arms.append(
                    StoredArm(
                        version: RowVersion(tid: try result.tid(row, 4), xmin: try result.xid(row, 5)), key: key,
                        state: state))
            }
        }
        return arms
    }
}

extension StoredArm {
    /// A row as this transaction wrote it.
    init(version: RowVersion, key: StateKey, state: ForgettingState) {
        self.init(
            version: version, key: key, statistics: state.statistics,
            reference: state.reference.map {
                PostgresEpoch.stored(Date(timeIntervalSince1970: $0)).timeIntervalSince1970
            },
            halfLife: state.halfLife)
    }
}
