import Foundation

/// The primary key of `bandit_state`. Strings compare as UTF-8 bytes, as PostgreSQL's text
/// equality does (Swift's `==` would merge canonically equivalent ids into one row).
public struct StateKey: Hashable, Comparable, Sendable {
    public init(userID: String, policy: String, source: String, armID: String) {
        self.userID = userID
        self.policy = policy
        self.source = source
        self.armID = armID
    }

    public var userID: String
    public var policy: String
    public var source: String
    public var armID: String

    struct UserSource: Hashable {
        var userID: String
        var source: String

        static func == (lhs: UserSource, rhs: UserSource) -> Bool {
            lhs.userID.utf8.elementsEqual(rhs.userID.utf8) && lhs.source.utf8.elementsEqual(rhs.source.utf8)
        }

        func hash(into hasher: inout Hasher) {
            for byte in userID.utf8 { hasher.combine(byte) }
            hasher.combine(0xFF as UInt8)
            for byte in source.utf8 { hasher.combine(byte) }
        }
    }

    public static func == (lhs: StateKey, rhs: StateKey) -> Bool {
        lhs.userID.utf8.elementsEqual(rhs.userID.utf8) && lhs.policy.utf8.elementsEqual(rhs.policy.utf8)
            && lhs.source.utf8.elementsEqual(rhs.source.utf8) && lhs.armID.utf8.elementsEqual(rhs.armID.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        for field in [userID, policy, source, armID] {
            var field = field
            field.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            hasher.combine(0xFF as UInt8)  // never in UTF-8: separates the fields
        }
    }

    public static func < (lhs: StateKey, rhs: StateKey) -> Bool {
        // Field by field, without building arrays: this runs in the sort of every batch.
        if !lhs.userID.utf8.elementsEqual(rhs.userID.utf8) {
            return lhs.userID.utf8.lexicographicallyPrecedes(rhs.userID.utf8)
        }
        if !lhs.policy.utf8.elementsEqual(rhs.policy.utf8) {
            return lhs.policy.utf8.lexicographicallyPrecedes(rhs.policy.utf8)
        }
        if !lhs.source.utf8.elementsEqual(rhs.source.utf8) {
            return lhs.source.utf8.lexicographicallyPrecedes(rhs.source.utf8)
        }
        return lhs.armID.utf8.lexicographicallyPrecedes(rhs.armID.utf8)
    }
}

extension UUID {
    var lowercased: String { uuidString.lowercased() }
}
