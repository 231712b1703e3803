import BanditCore
import NATSKit

/// Stores dead letters in the DEADLETTER stream and waits for JetStream's PubAck. Tells a failure
/// that may pass by itself (a timeout, a reconnect, a leader election) from one an operator must
/// fix (the stream is full with `discard new`, deleted, or refuses the subject); either way the
/// caller keeps the original and retries later — a message is never termed without its dead
/// letter stored.
public struct DeadLetterPublisher: Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var error: NATSError
        /// True when retrying soon is unlikely to help until an operator acts.
        public var isPermanent: Bool

        public var description: String {
            if isPermanent {
                return "the DEADLETTER stream refuses dead letters: \(error)"
            }
            return "publishing a dead letter failed: \(error)"
        }
    }

    public struct Stored: Sendable {
        public var ack: PubAck
        /// The dead letter was stored without the body (body + headers exceeded max_payload).
        public var bodyOmitted: Bool
    }

    let nats: NATSConnection

    public init(nats: NATSConnection) {
        self.nats = nats
    }

    public func publish(_ original: DeadLetterOriginal, reason: RejectionReason, detail: String) throws(Failure)
        -> Stored
    {
        var letter = DeadLetter.message(for: original, reason: reason, detail: detail, maxPayload: nats.maxPayload)
        do {
            let ack = try nats.publish(subject: letter.subject, headers: letter.headers, body: letter.body)
            return Stored(ack: ack, bodyOmitted: letter.headers["Deadletter-Body-Omitted"] != nil)
        } catch  where error.isMaxPayload && !letter.body.isEmpty {
            // The server's limit is below what it announced, or the header estimate was short.
            letter = DeadLetter.message(for: original, reason: reason, detail: detail, maxPayload: 0)
            do {
                let ack = try nats.publish(subject: letter.subject, headers: letter.headers, body: letter.body)
                return Stored(ack: ack, bodyOmitted: true)
            } catch {
                throw Self.classify(error)
            }
        } catch {
            throw Self.classify(error)
        }
    }

    static func classify(_ error: NATSError) -> Failure {
        switch error.origin {
        case .jetStream(let code, let errorCode):
            // A store failure (err_code 10077: maximum messages or bytes exceeded with discard
            // new) comes as a 503, like "no leader yet", but needs an operator; so do 400-class
            // answers (subject not in the stream). Other 503s and 408 pass.
            if errorCode == 10077 { return Failure(error: error, isPermanent: true) }
            return Failure(error: error, isPermanent: code != 503 && code != 408)
        case .library:
            if error.isNoResponders {
                // No stream captures deadletter.>: deleted, or (briefly) a cluster electing a leader.
                return Failure(error: error, isPermanent: true)
            }
            return Failure(error: error, isPermanent: !error.isTransient)
        case .pullStatus, .malformedResponse:
            return Failure(error: error, isPermanent: true)
        }
    }
}
