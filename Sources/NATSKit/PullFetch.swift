/// The decisions of one fetch from a pull consumer, as a pure state machine: when to send a pull
/// request and for how many messages, how long to wait for the next message, when the batch is
/// done, which status answers end a request and which are fatal. `PullConsumer` does the I/O
/// that the actions name (publish the request, `natsSubscription_NextMsg` with the timeout) and
/// reports back what happened. Every transition is unit-tested without a server.
///
/// A fetch ends as soon as `maxMessages` are in hand, or once at least one is in hand and no
/// further one arrives within `linger`, or at `deadline` (possibly empty). In finish mode
/// (shutdown) it sends no request and ends when the open ones have ended.
struct PullFetch: Sendable {
    enum Mode: Sendable, Equatable {
        /// Ask for messages; each request expires after `requestExpiry`.
        case fetch(requestExpiry: Duration)
        /// Shutdown: take only what the open requests still deliver.
        case finish
    }

    enum Action: Sendable, Equatable {
        /// Publish a pull request for `batch` messages that expires at `expiresAt` (register it in
        /// the ledger with `requestSent`), then ask again.
        case sendPullRequest(batch: Int, expiresAt: ContinuousClock.Instant)
        /// Wait for the next message or status until this instant, then report it
        /// (`messageArrived`, `statusArrived`) or `timedOut`.
        case wait(until: ContinuousClock.Instant)
        /// The batch is done: return what is in hand.
        case deliver
        /// Finish mode with nothing open: take what is already buffered without waiting, then done.
        case drainBuffered
    }

    /// How a status answer to a pull request is to be treated.
    enum StatusVerdict: Sendable, Equatable {
        /// 100 idle heartbeat: nothing ends.
        case heartbeat
        /// 404, 408, an ordinary 409: the request is over; the next fetch asks again.
        case requestEnded
        /// 409 Consumer Deleted, 400 …: no other pull fixes it.
        case fatal
    }

    let maxMessages: Int
    let deadline: ContinuousClock.Instant
    let linger: Duration
    let mode: Mode
    private(set) var count = 0
    private(set) var lingerUntil: ContinuousClock.Instant?

    init(maxMessages: Int, deadline: ContinuousClock.Instant, linger: Duration, mode: Mode) {
        precondition(maxMessages > 0, "a fetch needs a positive batch size")
        self.maxMessages = maxMessages
        self.deadline = deadline
        self.linger = linger
        self.mode = mode
    }

    /// The next step at `now`. `ledger` is pruned of expired requests and of requests of an
    /// earlier connection (`epoch`); a request goes out only while `connected` (cnats would
    /// send a request buffered during a disconnect after reconnecting, to a server that no
    /// longer knows it), and asks only for what `buffered` (delivered to the client, not yet
    /// taken) and the open requests will not bring.
    mutating func next(
        now: ContinuousClock.Instant, epoch: Int, connected: Bool, buffered: Int = 0, ledger: inout PullRequestLedger
    ) -> Action {
        ledger.prune(now: now, connectionEpoch: epoch)
        let until = lingerUntil.map { min($0, deadline) } ?? deadline
        switch mode {
        case .fetch(let requestExpiry):
            guard now < until else { return .deliver }  // done: the next fetch asks for more
            if connected, let size = ledger.requestSize(toServe: maxMessages - count, at: now, buffered: buffered) {
                return .sendPullRequest(batch: size, expiresAt: now + requestExpiry)
            }
        case .finish:
            if ledger.open.isEmpty && lingerUntil == nil { return .drainBuffered }
        }
        return now < until ? .wait(until: until) : .deliver
    }

    /// A message arrived: true when the batch is full (deliver it).
    mutating func messageArrived(now: ContinuousClock.Instant, ledger: inout PullRequestLedger) -> Bool {
        ledger.delivered()
        count += 1
        lingerUntil = now + linger
        return count >= maxMessages
    }

    /// The wait ran out at `now`: true when the fetch is done.
    func timedOut(now: ContinuousClock.Instant) -> Bool {
        let until = lingerUntil.map { min($0, deadline) } ?? deadline
        return now >= until
    }

    /// A status answered request `requestID` (parsed from its reply subject, if it could be).
    static func verdict(code: Int, description: String) -> StatusVerdict {
        switch code {
        case 100: return .heartbeat
        case 404, 408: return .requestEnded
        case 409 where !isFatal409(description): return .requestEnded
        default: return .fatal
        }
    }

    /// Records a status in the ledger; returns the verdict.
    static func statusArrived(
        code: Int, description: String, requestID: UInt64?, ledger: inout PullRequestLedger
    ) -> StatusVerdict {
        let verdict = verdict(code: code, description: description)
        if verdict != .heartbeat, let requestID { ledger.ended(id: requestID) }
        return verdict
    }

    /// 409s that another pull request cannot fix: the consumer is gone or the request itself is
    /// out of the consumer's limits.
    static func isFatal409(_ description: String) -> Bool {
        let text = description.lowercased()
        return text.contains("consumer deleted") || text.contains("push based")
            || text.contains("exceeded maxrequestbatch") || text.contains("exceeded maxrequestexpires")
            || text.contains("exceeded maxrequestmaxbytes")
    }
}
