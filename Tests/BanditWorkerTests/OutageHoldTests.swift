import PostgresKit
import Testing

@testable import BanditWorker

/// Every transition of the hold state machine and every classification feeding it, without a
/// server: what the live-server tests (PostgreSQL stopped, read-only, REVOKE, a row lock) reach
/// only end to end.
@Suite struct OutageHoldTests {
    static let policy = OutageHold.Policy(ackWait: .seconds(30))  // keep-alive every 10 s
    static let unreachable = DatabaseFailure.unavailable(HoldReason(kind: .unreachable, sqlState: nil), reconnect: true)
    static let lockTimeout = DatabaseFailure.unavailable(
        HoldReason(kind: .lockTimeout, sqlState: SQLState(rawValue: "55P03")), reconnect: false)

    func hold(at start: ContinuousClock.Instant) -> OutageHold { OutageHold(policy: Self.policy, start: start) }

    // MARK: conflicts

    @Test func aConflictIsRetriedAtOnceWithAGrowingShortDelay() {
        let start = ContinuousClock.now
        var machine = hold(at: start)
        #expect(machine.failed(.conflict, at: start, jitter: 0) == .retry(after: .milliseconds(1)))
        #expect(machine.failed(.conflict, at: start, jitter: 0) == .retry(after: .milliseconds(2)))
        #expect(machine.failed(.conflict, at: start, jitter: 1) == .retry(after: .milliseconds(60)))
        #expect(machine.conflicts == 3)
        #expect(!machine.isHolding)
    }

    @Test func conflictsBeyondTheLimitGiveUp() {
        let start = ContinuousClock.now
        var machine = hold(at: start)
        for _ in 0..<Self.policy.maxConflictRetries {
            guard case .retry = machine.failed(.conflict, at: start, jitter: 0.5) else {
                Issue.record("a conflict within the limit must be retried")
                return
            }
        }
        #expect(machine.failed(.conflict, at: start, jitter: 0.5) == .giveUp)
    }

    @Test func successResetsTheConflictCount() {
        let start = ContinuousClock.now
        var machine = hold(at: start)
        for _ in 0..<Self.policy.maxConflictRetries { _ = machine.failed(.conflict, at: start, jitter: 0) }
        #expect(machine.succeeded(at: start) == nil)  // not held: no hold duration
        #expect(machine.conflicts == 0)
        #expect(machine.failed(.conflict, at: start, jitter: 0) == .retry(after: .milliseconds(1)))
    }

    // MARK: holding

    @Test func theFirstOutageStartsAHoldAndLogsAtOnce() {
        let start = ContinuousClock.now
        var machine = hold(at: start)
        let action = machine.failed(Self.unreachable, at: start + .seconds(1), jitter: 1)
        #expect(action == .hold(wait: .milliseconds(250), keepAlive: false, reconnect: true, log: true))
        #expect(machine.isHolding)
        #expect(machine.holdingSince == start + .seconds(1))
        #expect(machine.reason?.kind == .unreachable)
    }

    @Test func theWaitDoublesFromTheBaseToTheCapWithJitterInTheUpperHalf() {
        let start = ContinuousClock.now
        var machine = hold(at: start)
        var waits: [Duration] = []
        for attempt in 0..<8 {
            // Each attempt right after a keep-alive-free instant, so only the backoff bounds the wait.
            if case .hold(let wait, _, _, _) = machine.failed(Self.lockTimeout, at: start, jitter: 1) {
                waits.append(wait)
            } else {
                Issue.record("attempt \(attempt) did not hold")
            }
        }
        // 250 ms doubling, capped at min(retry cap 10 s, keep-alive interval 10 s).
        #expect(
            waits == [
                .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8),
                .seconds(10), .seconds(10),
            ])
        var low = hold(at: start)
        #expect(
            low.failed(Self.lockTimeout, at: start, jitter: 0)
                == .hold(wait: .milliseconds(125), keepAlive: false, reconnect: false, log: true))
    }

    @Test func aWaitNeverRunsPastTheNextKeepAlive() {
        let start = ContinuousClock.now
        var machine = hold(at: start)
        for _ in 0..<10 { _ = machine.failed(Self.lockTimeout, at: start, jitter: 1) }  // backoff at its cap
        // 9.5 s after the batch was taken, the keep-alive is due in 0.5 s: wait no longer than that.
        guard
            case .hold(let wait, let keepAlive, _, _) = machine.failed(
                Self.lockTimeout, at: start + .milliseconds(9_500), jitter: 1)
        else {
            Issue.record("expected a hold")
            return
        }
        #expect(!keepAlive)
        #expect(wait == .milliseconds(500))
    }

    @Test func heldMessagesAreKeptAliveEveryThirdOfTheAckWait() {
        let start = ContinuousClock.now
        var machine = hold(at: start)
        var keepAlives: [Int] = []
        for second in stride(from: 1, through: 35, by: 1) {
            if case .hold(_, true, _, _) = machine.failed(Self.unreachable, at: start + .seconds(second), jitter: 0.5) {
                keepAlives.append(second)
            }
        }
        #expect(keepAlives == [10, 20, 30])
    }

    @Test func theLogRepeatsWithBackoffUpToOnceAMinute() {
        let start = ContinuousClock.now
        var machine = hold(at: start)
        var logged: [Int] = []
        for second in 0...300 {
            if case .hold(_, _, _, true) = machine.failed(Self.unreachable, at: start + .seconds(second), jitter: 0.5) {
                logged.append(second)
            }
        }
        // At once, then 1, 2, 4, … s apart, never more than 60 s apart.
        #expect(Array(logged.prefix(6)) == [0, 1, 3, 7, 15, 31])
        let gaps = zip(logged.dropFirst(), logged).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 <= 60 })
        #expect(gaps.suffix(3) == [60, 60, 60])
    }

    @Test func aChangedReasonIsLoggedAtOnceAndTheHoldKeepsItsStart() {
        let start = ContinuousClock.now
        var machine = hold(at: start)
        _ = machine.failed(Self.unreachable, at: start, jitter: 0.5)
        guard
            case .hold(_, _, let reconnect, let log) = machine.failed(
                Self.lockTimeout, at: start + .milliseconds(300), jitter: 0.5)
        else {
            Issue.record("expected a hold")
            return
        }
        #expect(log)
        #expect(!reconnect)  // a lock timeout keeps its session
        #expect(machine.reason?.kind == .lockTimeout)
        #expect(machine.holdingSince == start)
    }

    @Test func successEndsTheHoldReportsItsLengthAndResetsTheBackoff() {
        let start = ContinuousClock.now
        var machine = hold(at: start)
        for second in 0..<5 { _ = machine.failed(Self.unreachable, at: start + .seconds(second), jitter: 1) }
        #expect(machine.succeeded(at: start + .seconds(12)) == .seconds(12))
        #expect(!machine.isHolding)
        #expect(machine.reason == nil)
        let next = machine.failed(Self.unreachable, at: start + .seconds(13), jitter: 1)
        guard case .hold(let wait, _, _, let log) = next else {
            Issue.record("expected a hold")
            return
        }
        #expect(wait == .milliseconds(250))
        #expect(log)
        #expect(machine.holdingSince == start + .seconds(13))
    }

    @Test func aConflictWhileHoldingDoesNotEndTheHold() {
        let start = ContinuousClock.now
        var machine = hold(at: start)
        _ = machine.failed(Self.unreachable, at: start, jitter: 0)
        #expect(machine.failed(.conflict, at: start + .seconds(1), jitter: 0) == .retry(after: .milliseconds(1)))
        #expect(machine.isHolding)
    }

    // MARK: classification

    static func classify(_ sqlState: String?, connectionLost: Bool = false) -> DatabaseFailure {
        DatabaseFailure(
            PostgresError(
                operation: "test", sqlState: sqlState.map(SQLState.init(rawValue:)), message: "m",
                connectionLost: connectionLost))
    }

    @Test(arguments: [
        ("40001", nil as HoldReason.Kind?, false), ("40P01", nil, false),
        ("25006", .readOnly, true), ("55P03", .lockTimeout, false), ("57014", .statementTimeout, false),
        ("42501", .permissionDenied, false), ("42P01", .schemaProblem, false), ("42703", .schemaProblem, false),
        ("3F000", .schemaProblem, false), ("28P01", .authentication, true), ("53100", .insufficientResources, false),
        ("XX000", .otherError, true),
    ])
    func eachSQLStateHoldsForItsReason(sqlState: String, kind: HoldReason.Kind?, reconnect: Bool) {
        let failure = Self.classify(sqlState)
        if let kind {
            #expect(
                failure
                    == .unavailable(
                        HoldReason(kind: kind, sqlState: SQLState(rawValue: sqlState)), reconnect: reconnect))
        } else {
            #expect(failure == .conflict)
        }
    }

    @Test func aLostConnectionIsUnreachableAndReconnects() {
        guard case .unavailable(let reason, let reconnect) = Self.classify(nil, connectionLost: true) else {
            Issue.record("a lost connection must hold")
            return
        }
        #expect(reason.kind == .unreachable)
        #expect(reconnect)
    }

    @Test func everyReasonSaysWhatItIsWithoutValues() {
        for kind in HoldReason.Kind.allCases {
            let text = HoldReason(kind: kind, sqlState: SQLState(rawValue: "XX000")).description
            #expect(text.contains("SQLSTATE XX000"))
            #expect(!text.isEmpty)
        }
    }
}
