import Foundation

/// The primary key of `bandit_state`. Strings compare as UTF-8 bytes, as PostgreSQL's text
/// equality does (Swift's `==` would merge canonically equivalent ids into one row).
///
/// Keys are hashed, compared and sorted several times per event on the hot path, so the key
/// carries a fingerprint of its bytes (computed once) and compares with `memcmp`.
public struct StateKey: Hashable, Comparable, Sendable {
    public init(userID: String, policy: String, source: String, armID: String) {
        self.userID = userID
        self.policy = policy
        self.source = source
        self.armID = armID
        fingerprint = Fingerprint.of(userID, policy, source, armID)
    }

    public let userID: String
    public let policy: String
    public let source: String
    public let armID: String
    /// FNV-1a over the fields' bytes, each field closed by 0xFF (never in UTF-8).
    private let fingerprint: UInt64

    struct UserSource: Hashable {
        let userID: String
        let source: String
        private let fingerprint: UInt64

        init(userID: String, source: String) {
            self.userID = userID
            self.source = source
            fingerprint = Fingerprint.of(userID, source)
        }

        static func == (lhs: UserSource, rhs: UserSource) -> Bool {
            lhs.fingerprint == rhs.fingerprint && Bytewise.compare(lhs.userID, rhs.userID) == 0
                && Bytewise.compare(lhs.source, rhs.source) == 0
        }

        func hash(into hasher: inout Hasher) { hasher.combine(fingerprint) }
    }

    public static func == (lhs: StateKey, rhs: StateKey) -> Bool {
        lhs.fingerprint == rhs.fingerprint && Bytewise.compare(lhs.userID, rhs.userID) == 0
            && Bytewise.compare(lhs.policy, rhs.policy) == 0 && Bytewise.compare(lhs.source, rhs.source) == 0
            && Bytewise.compare(lhs.armID, rhs.armID) == 0
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(fingerprint) }

    /// Field by field, bytewise (PostgreSQL's `COLLATE "C"`): the one lock order of state rows.
    public static func < (lhs: StateKey, rhs: StateKey) -> Bool {
        var order = Bytewise.compare(lhs.userID, rhs.userID)
        if order == 0 { order = Bytewise.compare(lhs.policy, rhs.policy) }
        if order == 0 { order = Bytewise.compare(lhs.source, rhs.source) }
        if order == 0 { order = Bytewise.compare(lhs.armID, rhs.armID) }
        return order < 0
    }
}

private enum Fingerprint {
    static func of(_ first: String, _ second: String, _ third: String = "", _ fourth: String = "") -> UInt64 {
        fold(fold(fold(fold(0xcbf2_9ce4_8422_2325, first), second), third), fourth)
    }

    private static func fold(_ start: UInt64, _ field: String) -> UInt64 {
        var hash = start
        for byte in field.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        hash ^= 0xFF
        return hash &* 0x0000_0100_0000_01b3
    }
}

/// Byte order of two strings' UTF-8 (`memcmp`, then the shorter first).
enum Bytewise {
    static func compare(_ lhs: String, _ rhs: String) -> Int {
        var lhs = lhs
        var rhs = rhs
        return lhs.withUTF8 { left in
            rhs.withUTF8 { right in
                let common = min(left.count, right.count)
                if common > 0, let l = left.baseAddress, let r = right.baseAddress {
                    let order = memcmp(l, r, common)
                    if order != 0 { return Int(order) }
                }
                return left.count - right.count
            }
        }
    }
}

extension UUID {
    var lowercased: String { uuidString.lowercased() }
}
