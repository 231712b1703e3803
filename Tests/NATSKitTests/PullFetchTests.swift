import Testing

@testable import NATSKit

/// Every transition of the fetch state machine, without a server.
@Suite struct PullFetchTests {
    let start = ContinuousClock.now

    func fetch(max: Int = 10, wait: Duration = .milliseconds(500), linger: Duration = .milliseconds(1)) -> PullFetch {
        PullFetch(
            maxMessages: max, deadline: start + wait, linger: linger, mode: .fetch(requestExpiry: .milliseconds(500)))
    }

    @Test func aFetchFirstAsksForTheWholeBatchThenWaitsUntilTheDeadline() {
        var ledger = PullRequestLedger()
        var machine = fetch()
        #expect(
            machine.next(now: start, epoch: 0, connected: true, ledger: &ledger)
                == .sendPullRequest(batch: 10, expiresAt: start + .milliseconds(500)))
        _ = ledger.issue(batch: 10, expiresAt: start + .milliseconds(500), connectionEpoch: 0, now: start)
        #expect(
            machine.next(now: start, epoch: 0, connected: true, ledger: &ledger)
                == .wait(until: start + .milliseconds(500)))
        // Nothing came: done, empty, at the deadline.
        #expect(!machine.timedOut(now: start + .milliseconds(499)))
        #expect(machine.timedOut(now: start + .milliseconds(500)))
        #expect(machine.next(now: start + .milliseconds(500), epoch: 0, connected: true, ledger: &ledger) == .deliver)
    }

    @Test func noRequestGoesOutWhileDisconnected() {
        var ledger = PullRequestLedger()
        var machine = fetch()
        #expect(
            machine.next(now: start, epoch: 0, connected: false, ledger: &ledger)
                == .wait(until: start + .milliseconds(500)))
    }

    @Test func aMessageStartsTheLingerAndAQuietLingerEndsTheBatchEarly() {
        var ledger = PullRequestLedger()
        _ = ledger.issue(batch: 10, expiresAt: start + .milliseconds(500), connectionEpoch: 0, now: start)
        var machine = fetch(linger: .milliseconds(5))
        let arrival = start + .milliseconds(20)
        #expect(!machine.messageArrived(now: arrival, ledger: &ledger))
        #expect(ledger.outstanding == 9)
        #expect(
            machine.next(now: arrival, epoch: 0, connected: true, ledger: &ledger)
                == .wait(until: arrival + .milliseconds(5)))
        #expect(machine.timedOut(now: arrival + .milliseconds(5)))
    }

    @Test func aFullBatchIsDeliveredAtOnce() {
        var ledger = PullRequestLedger()
        _ = ledger.issue(batch: 3, expiresAt: start + .milliseconds(500), connectionEpoch: 0, now: start)
        var machine = fetch(max: 3)
        #expect(!machine.messageArrived(now: start, ledger: &ledger))
        #expect(!machine.messageArrived(now: start, ledger: &ledger))
        #expect(machine.messageArrived(now: start, ledger: &ledger))
    }

    @Test func aRequestIsRefilledWhenLessThanHalfTheBatchIsOutstanding() {
        var ledger = PullRequestLedger()
        _ = ledger.issue(batch: 10, expiresAt: start + .seconds(5), connectionEpoch: 0, now: start)
        var machine = fetch()
        for _ in 0..<5 { _ = machine.messageArrived(now: start, ledger: &ledger) }
        // 5 in hand, 5 outstanding: enough asked for the 5 still wanted.
        if case .sendPullRequest = machine.next(now: start, epoch: 0, connected: true, ledger: &ledger) {
            Issue.record("asked again while the open request covers the rest")
        }
        var small = fetch(max: 20)
        var ledger2 = PullRequestLedger()
        _ = ledger2.issue(batch: 4, expiresAt: start + .seconds(5), connectionEpoch: 0, now: start)
        #expect(
            small.next(now: start, epoch: 0, connected: true, ledger: &ledger2)
                == .sendPullRequest(batch: 16, expiresAt: start + .milliseconds(500)))
    }

    @Test func aReconnectForgetsTheRequestsOfTheOldConnectionAndAsksAgain() {
        var ledger = PullRequestLedger()
        _ = ledger.issue(batch: 10, expiresAt: start + .seconds(5), connectionEpoch: 0, now: start)
        var machine = fetch()
        #expect(
            machine.next(now: start, epoch: 1, connected: true, ledger: &ledger)
                == .sendPullRequest(batch: 10, expiresAt: start + .milliseconds(500)))
        #expect(ledger.open.isEmpty)
    }

    @Test func statusAnswersEndTheirRequestOrAreFatal() {
        var ledger = PullRequestLedger()
        let id = ledger.issue(batch: 10, expiresAt: start + .seconds(5), connectionEpoch: 0, now: start)
        #expect(
            PullFetch.statusArrived(code: 100, description: "Idle Heartbeat", requestID: id, ledger: &ledger)
                == .heartbeat)
        #expect(ledger.open.count == 1)
        #expect(
            PullFetch.statusArrived(code: 408, description: "Request Timeout", requestID: id, ledger: &ledger)
                == .requestEnded)
        #expect(ledger.open.isEmpty)
        let other = ledger.issue(batch: 10, expiresAt: start + .seconds(5), connectionEpoch: 0, now: start)
        #expect(
            PullFetch.statusArrived(code: 404, description: "No Messages", requestID: other, ledger: &ledger)
                == .requestEnded)
        #expect(
            PullFetch.statusArrived(code: 409, description: "Leader Change", requestID: nil, ledger: &ledger)
                == .requestEnded)
        #expect(
            PullFetch.statusArrived(code: 409, description: "Consumer Deleted", requestID: nil, ledger: &ledger)
                == .fatal)
        #expect(
            PullFetch.statusArrived(code: 400, description: "Bad Request", requestID: nil, ledger: &ledger) == .fatal)
    }

    @Test func finishModeSendsNothingAndDrainsOnceNothingIsOpen() {
        var ledger = PullRequestLedger()
        _ = ledger.issue(batch: 10, expiresAt: start + .seconds(5), connectionEpoch: 0, now: start)
        var machine = PullFetch(
            maxMessages: .max, deadline: start + .seconds(1), linger: .milliseconds(20), mode: .finish)
        #expect(
            machine.next(now: start, epoch: 0, connected: true, ledger: &ledger) == .wait(until: start + .seconds(1)))
        ledger = PullRequestLedger()
        #expect(machine.next(now: start, epoch: 0, connected: true, ledger: &ledger) == .drainBuffered)
        _ = machine.messageArrived(now: start, ledger: &ledger)
        // A message was just taken: wait out the linger before draining.
        #expect(
            machine.next(now: start, epoch: 0, connected: true, ledger: &ledger)
                == .wait(until: start + .milliseconds(20)))
    }

    @Test func aRequestHalfWayThroughItsLifeGetsASuccessorAndIsForgottenAfterItsGrace() {
        var ledger = PullRequestLedger(grace: .milliseconds(50))
        _ = ledger.issue(batch: 10, expiresAt: start + .milliseconds(100), connectionEpoch: 0, now: start)
        var machine = fetch(wait: .seconds(2))
        if case .sendPullRequest = machine.next(
            now: start + .milliseconds(40), epoch: 0, connected: true, ledger: &ledger)
        {
            Issue.record("asked again while the open request had most of its life ahead")
        }
        #expect(
            machine.next(now: start + .milliseconds(60), epoch: 0, connected: true, ledger: &ledger)
                == .sendPullRequest(batch: 10, expiresAt: start + .milliseconds(560)))
        #expect(ledger.open.count == 1)  // the caller registers the successor; the first is still open
        _ = machine.next(now: start + .milliseconds(151), epoch: 0, connected: true, ledger: &ledger)
        #expect(ledger.open.isEmpty)  // expired and past its grace: forgotten
    }
}
