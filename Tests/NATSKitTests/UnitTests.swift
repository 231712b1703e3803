import Foundation
import Testing

@testable import NATSKit

struct AckSubjectMetadataTests {
    @Test func theNineTokenFormIsParsed() throws {
        let metadata = try #require(
            JetStreamMessage.Metadata(
                ackSubject: "$JS.ACK.SIGNALS.feature-pipeline-signals.3.1042.77.1714039200000000000.12"))
        #expect(metadata.stream == "SIGNALS")
        #expect(metadata.consumer == "feature-pipeline-signals")
        #expect(metadata.deliveryCount == 3)
        #expect(metadata.streamSequence == 1042)
        #expect(metadata.consumerSequence == 77)
        #expect(metadata.timestampNanos == 1_714_039_200_000_000_000)
        #expect(metadata.pending == 12)
    }

    @Test func theDomainFormIsParsed() throws {
        let metadata = try #require(
            JetStreamMessage.Metadata(ackSubject: "$JS.ACK._.ACCHASH.FEEDBACK.worker.1.5.4.1714039200000000000.0.xyz"))
        #expect(metadata.stream == "FEEDBACK")
        #expect(metadata.consumer == "worker")
        #expect(metadata.deliveryCount == 1)
        #expect(metadata.streamSequence == 5)
        #expect(metadata.pending == 0)
    }

    @Test(arguments: [
        "", "_INBOX.abc.1", "$JS.ACK.S.C.x.1.1.1.1", "$JS.ACK.S.C.1.1.1.1", "$JS.NAK.S.C.1.1.1.1.1",
        "$JS.ACK.S.C.1.-1.1.1.1",
    ])
    func malformedAckSubjectsAreRejected(subject: String) {
        #expect(JetStreamMessage.Metadata(ackSubject: subject) == nil)
    }
}

struct PullRequestLedgerTests {
    let now = ContinuousClock.now

    @Test func aRequestIsSizedToWhatIsNotYetAskedFor() {
        var ledger = PullRequestLedger()
        #expect(ledger.requestSize(toServe: 256, at: now) == 256)
        _ = ledger.issue(batch: 256, expiresAt: now + .seconds(1), connectionEpoch: 0, now: now)
        #expect(ledger.requestSize(toServe: 256, at: now) == nil)
        for _ in 0..<200 { ledger.delivered() }
        #expect(ledger.outstanding == 56)
        #expect(ledger.requestSize(toServe: 256, at: now) == 200)
    }

    /// What the client already holds (delivered, not yet taken) counts as had: a busy worker's
    /// next fetch does not ask for a full batch on top of a full buffer.
    @Test func messagesAlreadyBufferedInTheClientAreNotAskedForAgain() {
        let ledger = PullRequestLedger()
        #expect(ledger.requestSize(toServe: 2048, at: now, buffered: 2048) == nil)
        #expect(ledger.requestSize(toServe: 2048, at: now, buffered: 1025) == nil)
        #expect(ledger.requestSize(toServe: 2048, at: now, buffered: 1000) == 1048)
        #expect(ledger.requestSize(toServe: 2048, at: now, buffered: -1) == 2048)
        var fetch = PullFetch(
            maxMessages: 2048, deadline: now + .milliseconds(100), linger: .milliseconds(1),
            mode: .fetch(requestExpiry: .milliseconds(100)))
        var open = PullRequestLedger()
        #expect(
            fetch.next(now: now, epoch: 0, connected: true, buffered: 3000, ledger: &open)
                == .wait(until: now + .milliseconds(100)))
        #expect(
            fetch.next(now: now, epoch: 0, connected: true, buffered: 48, ledger: &open)
                == .sendPullRequest(batch: 2000, expiresAt: now + .milliseconds(100)))
    }

    /// Under a trickle a request seldom fills before it expires, and the server may end it without
    /// a 408: its successor goes out once it is half-way through its life, so one is always open.
    @Test func aRequestInTheLastHalfOfItsLifeNoLongerCountsAndASuccessorIsAskedFor() {
        var ledger = PullRequestLedger()
        _ = ledger.issue(batch: 256, expiresAt: now + .milliseconds(100), connectionEpoch: 0, now: now)
        for _ in 0..<10 { ledger.delivered() }
        #expect(ledger.requestSize(toServe: 256, at: now + .milliseconds(49)) == nil)
        #expect(ledger.outstanding(at: now + .milliseconds(49)) == 246)
        #expect(ledger.outstanding(at: now + .milliseconds(50)) == 0)
        #expect(ledger.outstanding == 246)  // still open: its messages may still come
        #expect(ledger.requestSize(toServe: 256, at: now + .milliseconds(50)) == 256)
        _ = ledger.issue(
            batch: 256, expiresAt: now + .milliseconds(150), connectionEpoch: 0, now: now + .milliseconds(50))
        #expect(ledger.requestSize(toServe: 256, at: now + .milliseconds(60)) == nil)
        // Deliveries still count against the older request first (the server serves in order).
        ledger.delivered()
        #expect(ledger.open.map(\.remaining) == [245, 256])
    }

    @Test func deliveriesCountAgainstTheOldestRequestFirst() {
        var ledger = PullRequestLedger()
        let first = ledger.issue(batch: 2, expiresAt: now + .seconds(1), connectionEpoch: 0, now: now)
        let second = ledger.issue(batch: 3, expiresAt: now + .seconds(1), connectionEpoch: 0, now: now)
        ledger.delivered()
        ledger.delivered()
        #expect(ledger.open.map(\.id) == [second])
        #expect(!ledger.open.contains { $0.id == first })
        #expect(ledger.outstanding == 3)
    }

    @Test func aStatusEndsItsRequest() {
        var ledger = PullRequestLedger()
        let id = ledger.issue(batch: 10, expiresAt: now + .seconds(1), connectionEpoch: 0, now: now)
        ledger.ended(id: id)
        #expect(ledger.open.isEmpty)
        #expect(ledger.outstanding == 0)
    }

    @Test func requestsPastExpiryAndGraceAreForgotten() {
        var ledger = PullRequestLedger(grace: .milliseconds(500))
        _ = ledger.issue(batch: 10, expiresAt: now, connectionEpoch: 0, now: now)
        ledger.prune(now: now + .milliseconds(400), connectionEpoch: 0)
        #expect(ledger.open.count == 1)
        ledger.prune(now: now + .milliseconds(600), connectionEpoch: 0)
        #expect(ledger.open.isEmpty)
    }

    @Test func aReconnectForgetsEveryRequestAtOnce() {
        var ledger = PullRequestLedger()
        _ = ledger.issue(batch: 10, expiresAt: now + .seconds(30), connectionEpoch: 0, now: now)
        ledger.prune(now: now, connectionEpoch: 1)
        #expect(ledger.open.isEmpty)
    }

    @Test func aDeliveryWithNoOpenRequestIsHarmless() {
        var ledger = PullRequestLedger()
        ledger.delivered()
        #expect(ledger.outstanding == 0)
    }
}

struct RedactionTests {
    @Test(arguments: [
        ("nats://user:s3cret@host:4222", "nats://user:<redacted>@host:4222"),
        ("tls://t0ken@host:4222", "tls://<redacted>@host:4222"),
        ("nats://host:4222", "nats://host:4222"),
    ])
    func credentialsInServerURLsAreRedacted(url: String, expected: String) {
        #expect(NATSConnectionOptions.redactingURL(url) == expected)
    }

    @Test func optionsDescriptionNeverShowsSecrets() {
        let options = NATSConnectionOptions(
            servers: ["nats://u:pw1@h:1"], user: "u", password: "pw2", token: "tok3")
        #expect(!options.description.contains("pw1"))
        #expect(!options.description.contains("pw2"))
        #expect(!options.description.contains("tok3"))
    }

    @Test func durationsConvertToNATSUnits() {
        #expect(Duration.milliseconds(1500).natsMilliseconds == 1500)
        #expect(Duration.microseconds(1).natsMilliseconds == 1)
        #expect(Duration.seconds(30).natsNanoseconds == 30_000_000_000)
    }
}

struct PullStatusTests {
    @Test(arguments: ["Leader Change", "Server Shutdown", "Exceeded MaxWaiting", "Consumer Replicas Changed"])
    func a409ThatAnotherPullCanOutliveEndsOnlyItsRequest(description: String) {
        #expect(!PullFetch.isFatal409(description))
    }

    @Test(arguments: ["Consumer Deleted", "Consumer is push based", "Exceeded MaxRequestBatch of 100"])
    func a409AboutTheConsumerItselfIsAnError(description: String) {
        #expect(PullFetch.isFatal409(description))
    }
}
