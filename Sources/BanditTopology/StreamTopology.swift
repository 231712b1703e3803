import NATSKit

/// The streams and durable consumers of CONTRACT section 1, as this deployment configures them.
public struct StreamTopology: Sendable, Equatable {
    public struct ConsumerSpec: Sendable, Equatable {
        /// "signals" or "feedback": the name used in health output and metrics.
        public var role: String
        public var stream: String
        public var configuration: ConsumerConfiguration
    }

    public var streams: [StreamConfiguration]
    /// The two consumers the workers bind (signals, feedback).
    public var consumers: [ConsumerSpec]
    /// The consumer of the max-deliveries capture stream (see `maxDeliveriesStream`).
    public var recoveryConsumer: ConsumerSpec

    /// Every consumer `streams ensure` creates and verifies.
    public var allConsumers: [ConsumerSpec] { consumers + [recoveryConsumer] }

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
    public init(
        durablePrefix: String, maxDeliver: Int, ackWait: Duration, maxAckPending: Int, replicas: Int
    ) {
        streams = [
            StreamConfiguration(name: Self.signalsStream, subjects: ["signals.>"], replicas: replicas),
            StreamConfiguration(name: Self.feedbackStream, subjects: ["feedback.>"], replicas: replicas),
            // Dead letters are kept until an operator replays or purges them.
            StreamConfiguration(name: Self.deadLetterStream, subjects: ["deadletter.>"], replicas: replicas),
        ]
        func consumer(_ role: String, on stream: String) -> ConsumerSpec {
            ConsumerSpec(
                role: role, stream: stream,
                configuration: ConsumerConfiguration(
                    durableName: "\(durablePrefix)-\(role)", deliverPolicy: .all, ackPolicy: .explicit,
                    ackWait: ackWait, maxDeliver: maxDeliver, maxAckPending: maxAckPending))
        }
        consumers = [consumer("signals", on: Self.signalsStream), consumer("feedback", on: Self.feedbackStream)]
        let recoveryStream = Self.maxDeliveriesStream(durablePrefix: durablePrefix)
        streams.append(
            StreamConfiguration(
                name: recoveryStream,
                subjects: consumers.map {
                    "\(Self.maxDeliveriesAdvisoryPrefix).\($0.stream).\($0.configuration.durableName ?? "")"
                },
                retention: .workqueue, replicas: replicas))
        // Unlimited deliveries: an advisory that cannot be handled now (database down) waits.
        recoveryConsumer = ConsumerSpec(
            role: "max-deliveries", stream: recoveryStream,
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
