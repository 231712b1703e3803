/// The one tie rule of this module: when two arms have equal value (mean, score, or expected
/// reward), the arm whose `arm_id` comes first in UTF-8 byte order wins.
///
/// UTF-8 byte order equals Unicode code point order and PostgreSQL's `COLLATE "C"`; unlike
/// `String.<` it does not depend on Unicode normalization, so every daemon, the CLI and SQL
/// agree on it.
public enum ArmTieBreak {
    /// True when `lhs` wins a tie against `rhs`.
    public static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    /// Index of the best of `values` (largest; ties → ``precedes(_:_:)`` on `armIDs`).
    ///
    /// - Precondition: same non-zero length, no NaN value.
    static func indexOfMaximum(values: [Double], armIDs: [String]) -> Int {
        precondition(!values.isEmpty && values.count == armIDs.count, "need one value per arm")
        var best = 0
        for i in values.indices {
            precondition(!values[i].isNaN, "NaN value for arm \(armIDs[i])")
            if values[i] > values[best] || (values[i] == values[best] && precedes(armIDs[i], armIDs[best])) {
                best = i
            }
        }
        return best
    }
}
