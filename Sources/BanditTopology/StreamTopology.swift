import BanditCore
import NATSKit

/// The streams and durable consumers of CONTRACT section 1, as this deployment configures them.
public struct StreamTopology: Sendable, Equatable {
    /// A durable consumer banditd binds: its stream and its configuration.
    public struct ConsumerSpec: Sendable, Equatable {
        public var stream: String
        public var configuration: ConsumerConfiguration
    }

    /// A consumer the workers bind: its role (the name in health output and metrics) and spec.
    public struct WorkerConsumer: Sendable, Equatable {
        public var role: ConsumerRole
        public var spec: ConsumerSpec

        public var stream: String { spec.stream }
        public var configuration: ConsumerConfiguration { spec.configuration }
    }

    public var streams: [StreamConfiguration]
    /// The two consumers the workers bind (signals, feedback).
    public var consumers: [WorkerConsumer]
    /// The consumer of the max-deliveries capture stream (see `maxDeliveriesStream`).
    public var recoveryConsumer: ConsumerSpec

    /// Every consumer `streams ensure` creates and verifies.
    public var allConsumers: [ConsumerSpec] { consumers.map(\.spec) + [recoveryConsumer] }

    public static let signalsStream = "SIGNALS"
    public static let feedbackStream = "FEEDBACK"
    public static let deadLetterStream = "DEADLETTER"
    public static let maxDeliveriesAdvisoryPrefix = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"

    /// The stream that keeps the server's max-deliveries advisories of our two consumers:
    /// core-NATS advisories vanish when nobody listens (a crash loop, every daemon down), so a
    /// stream captures them and a daemon dead-letters each such message later (CONTRACT
    /// section 3, v1.1). Named after the durable prefix, so deployments sharing a server do not
    /// collide; a work queue (an advisory is removed once handled).
    public static func maxDeliveriesStream(durablePrefix: String) -> String { "\(durablePrefix)-max-deliveries" }

    /// - Parameters:
    ///   - durablePrefix: consumers are `{prefix}-signals` and `{prefix}-feedback`.
    ///   - replicas: 1 for one server, 3 for a three-node cluster (R3).
    /// The streams SIGNALS and FEEDBACK keep a message this long at most (CONTRACT section 10;
    /// `nats.stream_max_age_s`, default 7 days); it must stay a day below the ledger retention.
    public static let defaultMaxAge: Duration = .seconds(7 * 86_400)

    public init(
        durablePrefix: String, maxDeliver: Int, ackWait: Duration, maxAckPending: Int, replicas: Int,
        maxAge: Duration = StreamTopology.defaultMaxAge
    ) {
        // JetStream refuses a duplicate window longer than max_age (only a test sets it that short).
        let window = maxAge == .zero ? .seconds(120) : min(.seconds(120), maxAge)
        streams = [
            StreamConfiguration(
                name: Self.signalsStream, subjects: ["signals.>"], replicas: replicas, maxAge: maxAge,
                duplicateWindow: window),
            StreamConfiguration(
                name: Self.feedbackStream, subjects: ["feedback.>"], replicas: replicas, maxAge: maxAge,
                duplicateWindow: window),
            // Dead letters are kept until an operator replays or purges them.
            StreamConfiguration(name: Self.deadLetterStream, subjects: ["deadletter.>"], replicas: replicas),
        ]
        consumers = ConsumerRole.allCases.map { role in
            WorkerConsumer(
                role: role,
                spec: ConsumerSpec(
                    stream: role.stream,
                    configuration: ConsumerConfiguration(
                        durableName: "\(durablePrefix)-\(role.rawValue)", deliverPolicy: .all, ackPolicy: .explicit,
                        ackWait: ackWait, maxDeliver: maxDeliver, maxAckPending: maxAckPending)))
        }
        let recoveryStream = Self.maxDeliveriesStream(durablePrefix: durablePrefix)
        streams.append(
            StreamConfiguration(
                name: recoveryStream,
                subjects: consumers.map {
                    "\(Self.maxDeliveriesAdvisoryPrefix).\($0.stream).\($0.configuration.durableName ?? "")"
                },
                retention: .workqueue, replicas: replicas, maxAge: maxAge, duplicateWindow: window))
        // Unlimited deliveries: an advisory that cannot be handled now (database down) waits.
        recoveryConsumer = ConsumerSpec(
            stream: recoveryStream,
            configuration: ConsumerConfiguration(
                durableName: "\(durablePrefix)-max-deliveries", deliverPolicy: .all, ackPolicy: .explicit,
                ackWait: ackWait, maxDeliver: -1, maxAckPending: 1000))
    }

    /// Why an existing stream cannot serve as `expected`; empty when it can. Only what would break
    /// processing counts: replicas, limits and storage are the operator's to choose.
    public static func incompatibilities(of existing: StreamConfiguration, with expected: StreamConfiguration)
        -> [String]
    {
        var problems: [String] = []
        for subject in expected.subjects where !existing.subjects.contains(subject) {
            problems.append("subjects are \(existing.subjects), expected them to include \(subject)")
        }
        if existing.retention == .workqueue && expected.name == deadLetterStream {
            problems.append("retention is workqueue, expected limits (dead letters must stay readable)")
        }
        return problems
    }

    /// The streams whose max_age does not keep the ledger's promise: unlimited, or longer than
    /// `ledgerRetention` minus one day (a message could then be redelivered or re-published after
    /// its ledger row is gone, and applied twice). Pure; the daemon refuses to start on any.
    public static func maxAgeProblems(of streams: [StreamConfiguration], ledgerRetention: Duration) -> [String] {
        let limit = ledgerRetention - .seconds(86_400)
        return streams.filter { [signalsStream, feedbackStream].contains($0.name) }.compactMap { stream in
            if stream.maxAge == .zero { return "stream \(stream.name) keeps messages forever (max_age unlimited)" }
            if stream.maxAge > limit {
                return
                    "stream \(stream.name) keeps messages \(seconds(stream.maxAge)), longer than the ledger retention minus one day (\(seconds(limit)))"
            }
            return nil
        }
    }

    /// Why an existing consumer cannot serve as `expected`; empty when it can.
    public static func incompatibilities(
        of existing: ConsumerConfiguration, with expected: ConsumerConfiguration
    ) -> [String] {
        var problems: [String] = []
        if let deliverSubject = existing.deliverSubject {
            problems.append("is a push consumer (deliver_subject \(deliverSubject)), expected a pull consumer")
        }
        if existing.ackPolicy != expected.ackPolicy {
            problems.append("ack_policy is \(existing.ackPolicy.rawValue), expected \(expected.ackPolicy.rawValue)")
        }
        if existing.maxDeliver != expected.maxDeliver {
            problems.append(
                "max_deliver is \(existing.maxDeliver), expected \(expected.maxDeliver) (NATS_MAX_DELIVER / nats.max_deliver)"
            )
        }
        if existing.ackWait != expected.ackWait {
            problems.append(
                "ack_wait is \(seconds(existing.ackWait)), expected \(seconds(expected.ackWait)) (nats.ack_wait_s)")
        }
        if !existing.backoff.isEmpty {
            problems.append(
                "backoff is set (\(existing.backoff.map(seconds))), expected none: the server would use backoff[0] as the ack wait; banditd computes nak delays itself"
            )
        }
        if let filter = existing.filterSubject, filter != expected.filterSubject {
            problems.append("filter_subject is \(filter), expected none (the whole stream)")
        }
        return problems
    }

    private static func seconds(_ duration: Duration) -> String {
        let (whole, atto) = duration.components
        return atto == 0 ? "\(whole)s" : "\(Double(whole) + Double(atto) / 1e18)s"
    }
}
