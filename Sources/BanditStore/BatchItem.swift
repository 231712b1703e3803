import BanditCore
import Foundation

/// Where a message came from, kept with its event so a reward can be parked whole (and
/// dead-lettered byte for byte later) without the message in hand.
public struct MessageOrigin: Sendable {
    public var subject: String
    public var stream: String
    public var streamSequence: UInt64
    /// JetStream's delivery count of this delivery.
    public var deliveries: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(
        subject: String, stream: String, streamSequence: UInt64, deliveries: Int = 1,
        headers: [(name: String, value: String)] = [], body: [UInt8]
    ) {
        self.subject = subject
        self.stream = stream
        self.streamSequence = streamSequence
        self.deliveries = deliveries
        self.headers = headers
        self.body = body
    }
}

/// One valid event of a batch, with the message it came in.
public struct BatchItem: Sendable {
    public var event: Event
    public var origin: MessageOrigin

    public init(event: Event, origin: MessageOrigin) {
        self.event = event
        self.origin = origin
    }
}

/// What applying one item did.
public enum ApplyOutcome: Sendable, Equatable {
    case applied
    /// Applied as a late reward: it corrected a decision closed with its default reward.
    case appliedLate
    /// Its event_id was in the ledger already (a redelivery or a re-publish): no second effect.
    case duplicate
    /// A reward whose decision has not arrived: kept in `parked_rewards` (with its ledger row)
    /// until the decision lands or `early_reward_wait_s` passes. Ack it.
    case parked
    /// It can never apply: dead-letter it.
    case rejected(RejectionReason, detail: String)
    /// It may apply later: redeliver it.
    case retryLater(detail: String)
}
