import BanditCore
import BanditWorker
import Testing

struct SettlementPolicyTests {
    let policy = SettlementPolicy(maxDeliver: 5, baseDelay: .seconds(1), maxDelay: .seconds(60), jitter: 0.2)

    @Test func appliedMessagesAreAcked() {
        #expect(policy.settle(.applied, deliveryCount: 1, unitRandom: 0.5) == .ack)
    }

    @Test func duplicatesAreAckedWithoutAnotherEffect() {
        #expect(policy.settle(.duplicate, deliveryCount: 3, unitRandom: 0.5) == .ack)
    }

    @Test func rejectedMessagesAreDeadLetteredAtOnceWithTheirReason() {
        #expect(
            policy.settle(
                .rejected(reason: .schemaInvalid, detail: "reward: expected ≤ 1"), deliveryCount: 1, unitRandom: 0)
                == .deadLetter(reason: .schemaInvalid, detail: "reward: expected ≤ 1"))
    }

    @Test func aTransientFailureIsNakedWithADelayGrowingWithTheDeliveryCount() {
        let delays = (1...4).map { policy.delay(afterDelivery: $0, unitRandom: 0.5) }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(8)])
        #expect(
            policy.settle(.retryLater(detail: "decision not yet seen"), deliveryCount: 2, unitRandom: 0.5)
                == .nak(delay: .seconds(2)))
    }

    @Test func theDelayIsCapped() {
        #expect(policy.delay(afterDelivery: 40, unitRandom: 0.5) == .seconds(60))
    }

    @Test func jitterSpreadsTheDelayWithinItsBounds() {
        #expect(policy.delay(afterDelivery: 1, unitRandom: 0) == .milliseconds(800))
        #expect(policy.delay(afterDelivery: 1, unitRandom: 1) == .milliseconds(1200))
        #expect(policy.delay(afterDelivery: 3, unitRandom: 0.25) == .milliseconds(3600))
    }

    @Test func theLastDeliveryOfATransientFailureIsDeadLetteredAsMaxDeliveries() {
        let settlement = policy.settle(
            .retryLater(detail: "decision 7 not yet seen"), deliveryCount: 5, unitRandom: 0.5)
        #expect(
            settlement
                == .deadLetter(
                    reason: .maxDeliveries, detail: "gave up after 5 deliveries; last error: decision 7 not yet seen")
        )
    }

    @Test func aDeliveryCountPastMaxDeliverIsDeadLetteredToo() {
        // The server enforces max_deliver on the next pull, so a count above it can still arrive.
        guard case .deadLetter(let reason, _) = policy.settle(.retryLater(detail: "x"), deliveryCount: 9, unitRandom: 0)
        else {
            Issue.record("expected a dead letter")
            return
        }
        #expect(reason == .maxDeliveries)
    }

    @Test func maxDeliverOfOneDeadLettersTheFirstTransientFailure() {
        let single = SettlementPolicy(maxDeliver: 1)
        #expect(single.settle(.retryLater(detail: "x"), deliveryCount: 1, unitRandom: 0.5) != .ack)
    }
}
