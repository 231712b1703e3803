import BanditCore
import BanditMath
import Foundation

/// The state updates of one transaction, grouped by state key, each with the event time that
/// weighs it under forgetting. Folded into the rows read under lock by
/// `StoreStatements.writeState` (keys ascending: the one insert order of every daemon).
struct StateUpdates {
    private(set) var byKey: [StateKey: [TimedUpdate]] = [:]

    var isEmpty: Bool { byKey.isEmpty }

    /// A reward observed for `key` at event time `time`.
    mutating func observe(_ key: StateKey, features: [Double], reward: Double, at time: Date) {
        byKey[key, default: []].append(
            TimedUpdate(features: features, reward: reward, time: time.timeIntervalSince1970))
    }

    /// A late reward correcting a default closing of the decision made at `time`.
    mutating func correct(_ key: StateKey, features: [Double], by delta: Double, at time: Date) {
        byKey[key, default: []].append(
            TimedUpdate(features: features, reward: delta, time: time.timeIntervalSince1970, kind: .correction))
    }

    var sortedKeys: [StateKey] { byKey.keys.sorted() }
}
