import BanditCore
import NATSKit

/// Which apply lane takes a message: all of one user's messages go to one lane. Every row an
/// event touches (its state rows, its decision, its ledger row) belongs to its user, so two lanes
/// never wait for each other's row locks and commit side by side. (A reward that names another
/// user's decision only reads that decision under lock, in the one lock order, and is rejected.)
/// A message that did not decode has no rows; it goes by stream sequence.
struct ApplyLanes: Sendable {
    let count: Int

    init(count: Int) {
        precondition(count > 0, "at least one lane")
        self.count = count
    }

    /// The lane of `userID`: FNV-1a over its UTF-8 bytes, stable across processes and releases
    /// (Swift's `Hasher` is seeded per process).
    func lane(ofUser userID: String) -> Int {
        guard count > 1 else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in userID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(count))
    }

    /// The batch's parts, one per lane that gets messages, in lane order; each part keeps the
    /// fetch order of its messages.
    func split(_ batch: FetchedBatch) -> [(lane: Int, batch: FetchedBatch)] {
        guard count > 1 else { return batch.messages.isEmpty ? [] : [(0, batch)] }
        var parts = [FetchedBatch](repeating: FetchedBatch(messages: [], decoded: []), count: count)
        for (message, decoded) in zip(batch.messages, batch.decoded) {
            let lane =
                switch decoded {
                case .success(let event): self.lane(ofUser: event.userID)
                case .failure: Int(message.metadata.streamSequence % UInt64(count))
                }
            parts[lane].messages.append(message)
            parts[lane].decoded.append(decoded)
        }
        return parts.enumerated().filter { !$0.element.messages.isEmpty }.map { ($0.offset, $0.element) }
    }
}
