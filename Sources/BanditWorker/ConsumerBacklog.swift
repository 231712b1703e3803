import BanditCore
import Synchronization

/// Whether the worker consumers have a backlog: messages pending at the server beyond what one
/// round of fetches takes. Fed by the daemon's consumer-info poll (every 2 s, from the server,
/// so every daemon of a fleet sees the same); read by background jobs that should yield to a
/// draining backlog (`RetentionJob`).
public final class ConsumerBacklog: Sendable {
    private let pending = Mutex<[UInt64]>(Array(repeating: 0, count: ConsumerRole.allCases.count))
    /// Pending messages above this count make a backlog.
    public let threshold: UInt64

    public init(threshold: UInt64) {
        self.threshold = threshold
    }

    /// The server's latest `num_pending` of `role`'s consumer.
    public func record(_ role: ConsumerRole, pending count: UInt64) {
        pending.withLock { $0[role.index] = count }
    }

    /// True while any consumer has more than `threshold` messages pending.
    public var isDraining: Bool {
        pending.withLock { counts in counts.contains { $0 > threshold } }
    }
}
