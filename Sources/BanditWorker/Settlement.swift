import BanditCore

/// What became of one message in a processing attempt, before it is settled with JetStream.
public enum MessageOutcome: Sendable, Equatable {
    /// Its effect committed in this batch's transaction.
    case applied
    /// Its event_id was already in the ledger: acked without a second effect.
    case duplicate
    /// A reward kept in PostgreSQL until its decision arrives: acked (its ledger row is written).
    case parked
    /// It can never be applied (bad JSON, a rule broken, a reward for a rewarded decision…).
    case rejected(reason: RejectionReason, detail: String)
    /// It may apply later (its decision is not yet seen): redeliver after a delay.
    case retryLater(detail: String)
}

/// How one message is settled.
public enum Settlement: Sendable, Equatable {
    case ack
    /// Redeliver after `delay`.
    case nak(delay: Duration)
    /// Publish to `deadletter.{subject}` with these headers, await the PubAck, then term.
    case deadLetter(reason: RejectionReason, detail: String)
}

/// The ack / nak / term / dead-letter decision, pure so every rule is unit-tested.
///
/// - applied and duplicate messages are acked (only after the batch committed);
/// - rejected ones are dead-lettered at once, whatever their delivery count;
/// - `retryLater` ones are naked with a delay that grows with the delivery count (with jitter, so a
///   burst of them does not come back as one burst), until the delivery that is the last one
///   JetStream will make (`max_deliver`): that one is dead-lettered with reason `max_deliveries`
///   and the last error, because the server would otherwise drop it silently.
///
/// Infrastructure failures (database unreachable) are not outcomes: the worker holds the batch
/// and retries it without spending the delivery budget (see `OutageHold`).
public struct SettlementPolicy: Sendable, Equatable {
    /// JetStream's max_deliver for the consumer.
    public var maxDeliver: Int
    /// Delay after the first failed delivery; doubles with each further one.
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// Each delay is scaled by a factor drawn from `1 - jitter … 1 + jitter`.
    public var jitter: Double

    public init(
        maxDeliver: Int, baseDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(60), jitter: Double = 0.2
    ) {
        precondition(maxDeliver >= 1 && jitter >= 0 && jitter < 1, "invalid settlement policy")
        self.maxDeliver = maxDeliver
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// - Parameters:
    ///   - deliveryCount: JetStream's count for this delivery (1 on the first).
    ///   - unitRandom: a number in [0, 1) for the jitter (injected so tests are exact).
    public func settle(_ outcome: MessageOutcome, deliveryCount: Int, unitRandom: Double) -> Settlement {
        switch outcome {
        case .applied, .duplicate, .parked:
            return .ack
        case .rejected(let reason, let detail):
            return .deadLetter(reason: reason, detail: detail)
        case .retryLater(let detail):
            if deliveryCount >= maxDeliver {
                return .deadLetter(
                    reason: .maxDeliveries,
                    detail: "gave up after \(deliveryCount) deliveries; last error: \(detail)")
            }
            return .nak(delay: delay(afterDelivery: deliveryCount, unitRandom: unitRandom))
        }
    }

    /// `baseDelay · 2^(deliveryCount−1)`, capped at `maxDelay`, times the jitter factor.
    public func delay(afterDelivery deliveryCount: Int, unitRandom: Double) -> Duration {
        let exponent = max(0, min(deliveryCount - 1, 30))
        let nominal = min(maxDelay, baseDelay * (1 << exponent))
        let factor = 1 - jitter + 2 * jitter * min(max(unitRandom, 0), 1)
        let (seconds, attoseconds) = nominal.components
        let milliseconds = (Double(seconds) * 1000 + Double(attoseconds) / 1e15) * factor
        return .milliseconds(Int64(milliseconds.rounded()))  // whole ms: what JetStream's nak delay resolves
    }
}
