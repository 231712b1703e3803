import BanditCore
import Foundation
import Prometheus
import Synchronization

/// The daemon's counters, histograms and gauges, kept in a swift-prometheus registry that renders
/// the Prometheus text (exposition format 0.0.4) for `/metrics` and the health socket's `metrics`.
///
/// Every series is created once, here, with fixed labels; recording is an atomic add (counters) or
/// a short lock (histograms) and allocates nothing; every dead-letter reason
/// (``RejectionReason/all``) has its series from the start. The health JSON reads the same recordings: the numbers
/// it shows (processed, errors, redelivered, dead-lettered, last message) are kept readable beside
/// the exported series by the one call that records them, because swift-prometheus counters cannot
/// be read back. Record per batch, not per message.
///
/// Families (every per-consumer series carries `consumer="signals"` or `consumer="feedback"`):
///
/// | name | type | meaning |
/// |---|---|---|
/// | `banditd_messages_processed_total` | counter | messages applied (or found already applied) and acked |
/// | `banditd_message_errors_total` | counter | failed processing attempts: nak'd for a retry or dead-lettered |
/// | `banditd_messages_redelivered_total` | counter | messages that arrived with a delivery count above 1 |
/// | `banditd_rewards_parked_total` | counter | rewards parked until their decision arrives |
/// | `banditd_messages_dead_lettered_total` | counter | dead letters, also labelled `reason` (a CONTRACT §3 code) |
/// | `banditd_batch_size` | histogram | messages per non-empty fetch; buckets 1, 2, 4, …, 1024 |
/// | `banditd_apply_seconds` | histogram | one batch's database transaction, to its commit; buckets 0.5 ms … 5 s |
/// | `banditd_consumer_pending` | gauge | `num_pending` of the consumer, as last polled |
/// | `banditd_consumer_ack_pending` | gauge | `num_ack_pending` of the consumer, as last polled |
/// | `banditd_consumer_last_message_timestamp_seconds` | gauge | unix time of the last processed message (absent until one) |
/// | `banditd_decisions_closed_by_default_total` | counter | decisions closed with their default reward |
/// | `banditd_rewards_late_total` | counter | late rewards that corrected a default closing |
/// | `banditd_database_reconnects_total` | counter | PostgreSQL reconnections |
/// | `banditd_nats_reconnects_total` | counter | NATS reconnections |
///
/// ``HealthState`` adds its gauges (`banditd_build_info`, `banditd_up`, connections, workers) to
/// the same ``registry``.
public final class Metrics: Sendable {
    /// Upper bounds of `banditd_batch_size`: 1, 2, 4, …, 1024 (the fetch batch is at most a few hundred).
    public static let batchSizeBuckets: [Double] = (0...10).map { Double(1 << $0) }
    /// Upper bounds of `banditd_apply_seconds`: 0.5 ms … 5 s.
    public static let applySecondsBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5),
    ]
    /// The dead-letter reason codes of CONTRACT section 3 and the daemon's own: one typed list,
    /// ``RejectionReason/all``. Their series exist from the start (at 0), so rates work before the
    /// first dead letter.
    public static let deadLetterReasons: [RejectionReason] = RejectionReason.all

    /// Every family of the daemon, rendered by ``prometheusText()``.
    public let registry: PrometheusCollectorRegistry
    private let consumers: [ConsumerSeries]
    private let databaseReconnects: Counter
    private let natsReconnects: Counter
    private let decisionsClosedByDefault: HealthCounter
    private let rewardsLate: HealthCounter

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        consumers = ConsumerRole.allCases.map { ConsumerSeries($0, registry: registry) }
        databaseReconnects = registry.makeCounter(
            descriptor: .banditd("database_reconnects", unit: "total", "PostgreSQL reconnections."))
        natsReconnects = registry.makeCounter(
            descriptor: .banditd("nats_reconnects", unit: "total", "NATS reconnections."))
        decisionsClosedByDefault = HealthCounter(
            registry.makeCounter(
                descriptor: .banditd(
                    "decisions_closed_by_default", unit: "total",
                    "Decisions closed with their policy's default reward when their reward window passed.")))
        rewardsLate = HealthCounter(
            registry.makeCounter(
                descriptor: .banditd(
                    "rewards_late", unit: "total",
                    "Late rewards that corrected a decision closed with its default reward."
                )))
    }

    /// Counts `count` messages as processed (applied, or recognised as duplicates, and acked) and
    /// sets the consumer's `last_msg_ts` to `at`.
    public func recordProcessed(_ consumer: ConsumerRole, count: Int = 1, at time: Date = Date()) {
        guard count > 0 else { return }
        let series = consumers[consumer.index]
        series.processed.increment(by: count)
        series.lastMessage.set(time.timeIntervalSince1970)
    }

    /// Counts failed processing attempts (a nak for a retry, or a dead letter).
    public func recordErrors(_ consumer: ConsumerRole, count: Int = 1) {
        guard count > 0 else { return }
        consumers[consumer.index].errors.increment(by: count)
    }

    /// Counts messages that arrived with a delivery count above 1.
    public func recordRedelivered(_ consumer: ConsumerRole, count: Int = 1) {
        guard count > 0 else { return }
        consumers[consumer.index].redelivered.increment(by: count)
    }

    /// Counts rewards parked in PostgreSQL until their decision arrives.
    public func recordParked(_ consumer: ConsumerRole, count: Int = 1) {
        guard count > 0 else { return }
        consumers[consumer.index].parked.increment(by: Int64(count))
    }

    /// Counts dead letters published (and acknowledged by JetStream) for `reason`, a stable code
    /// such as `schema.invalid` (see ``deadLetterReasons``).
    public func recordDeadLettered(_ consumer: ConsumerRole, reason: RejectionReason, count: Int = 1) {
        guard count > 0 else { return }
        consumers[consumer.index].deadLettered(reason: reason, count: count, registry: registry)
    }

    /// Observes the size of one non-empty fetch; empty fetches (`size == 0`) are not observed.
    public func recordBatch(_ consumer: ConsumerRole, size: Int) {
        guard size > 0 else { return }
        consumers[consumer.index].batchSize.record(Double(size))
    }

    /// Observes how long one batch's database transaction took, to its commit.
    public func recordApply(_ consumer: ConsumerRole, duration: Duration) {
        guard duration >= .zero else { return }
        consumers[consumer.index].applySeconds.record(duration)
    }

    /// Sets the consumer's pending and ack-pending counts, as polled from its consumer info.
    public func setConsumerPending(_ consumer: ConsumerRole, pending: UInt64, ackPending: UInt64) {
        consumers[consumer.index].pending.set(to: Double(pending))
        consumers[consumer.index].ackPending.set(to: Double(ackPending))
    }

    /// The reward loop: decisions closed with their policy's default reward, and late rewards that
    /// corrected such a closing.
    public func recordRewardLoop(closedByDefault: Int, lateCorrected: Int) {
        if closedByDefault > 0 { decisionsClosedByDefault.increment(by: closedByDefault) }
        if lateCorrected > 0 { rewardsLate.increment(by: lateCorrected) }
    }

    /// Decisions closed with their default reward, and late rewards that corrected one, so far.
    public var rewardLoopCounts: (closedByDefault: UInt64, lateCorrected: UInt64) {
        (decisionsClosedByDefault.value, rewardsLate.value)
    }

    public func recordDatabaseReconnect() {
        databaseReconnects.increment()
    }

    public func recordNATSReconnect() {
        natsReconnects.increment()
    }

    /// The numbers the health JSON shows for one consumer.
    public struct ConsumerCounters: Sendable, Equatable {
        public var processed: UInt64
        public var errors: UInt64
        public var redelivered: UInt64
        /// All reasons together.
        public var deadLettered: UInt64
        /// When the last message was processed; nil before the first.
        public var lastMessageAt: Date?
    }

    public func counters(_ consumer: ConsumerRole) -> ConsumerCounters {
        let series = consumers[consumer.index]
        return ConsumerCounters(
            processed: series.processed.value,
            errors: series.errors.value,
            redelivered: series.redelivered.value,
            deadLettered: series.deadLetteredTotal.load(ordering: .relaxed),
            lastMessageAt: series.lastMessage.value.map { Date(timeIntervalSince1970: $0) }
        )
    }

    /// Every family of the registry in the Prometheus text exposition format 0.0.4 (families in
    /// no fixed order; each with its `# HELP` and `# TYPE` lines before its samples).
    public func prometheusText() -> String {
        registry.emitToString()
    }
}

/// The series of one consumer, created once.
private final class ConsumerSeries: Sendable {
    let role: ConsumerRole
    let processed: HealthCounter
    let errors: HealthCounter
    let redelivered: HealthCounter
    let parked: Counter
    /// All reasons together, for the health JSON.
    let deadLetteredTotal = Atomic<UInt64>(0)
    /// By reason; the contract's reasons from the start, others when first seen.
    private let deadLetteredByReason: Mutex<[RejectionReason: Counter]>
    let lastMessage: LastMessageGauge
    let batchSize: ValueHistogram
    let applySeconds: DurationHistogram
    let pending: Gauge
    let ackPending: Gauge

    // MetricNameDescriptor is not Sendable: made where it is used, not kept in a static.
    static var deadLettered: MetricNameDescriptor {
        .banditd(
            "messages_dead_lettered", unit: "total",
            "Messages published to deadletter.> and terminated, by reason code.")
    }

    init(_ role: ConsumerRole, registry: PrometheusCollectorRegistry) {
        self.role = role
        let labels = [("consumer", role.rawValue)]
        processed = HealthCounter(
            registry.makeCounter(
                descriptor: .banditd(
                    "messages_processed", unit: "total", "Messages applied (or found already applied) and acked."),
                labels: labels))
        errors = HealthCounter(
            registry.makeCounter(
                descriptor: .banditd(
                    "message_errors", unit: "total", "Failed processing attempts: nak'd for a retry or dead-lettered."),
                labels: labels))
        redelivered = HealthCounter(
            registry.makeCounter(
                descriptor: .banditd(
                    "messages_redelivered", unit: "total", "Messages that arrived with a delivery count above 1."),
                labels: labels))
        parked = registry.makeCounter(
            descriptor: .banditd(
                "rewards_parked", unit: "total",
                "Rewards kept in PostgreSQL until their decision arrives (acked, applied when it lands)."),
            labels: labels)
        deadLetteredByReason = Mutex(
            Dictionary(
                uniqueKeysWithValues: Metrics.deadLetterReasons.map { reason in
                    (reason, Self.deadLetterCounter(role, reason: reason, registry: registry))
                }))
        lastMessage = LastMessageGauge(role, registry: registry)
        batchSize = registry.makeValueHistogram(
            descriptor: .banditd("batch_size", unit: "", "Messages per non-empty fetch."), labels: labels,
            buckets: Metrics.batchSizeBuckets)
        applySeconds = registry.makeDurationHistogram(
            descriptor: .banditd(
                "apply", unit: "seconds", "Duration of one batch's database transaction, to its commit, in seconds."),
            labels: labels, buckets: Metrics.applySecondsBuckets)
        pending = registry.makeGauge(
            descriptor: .banditd(
                "consumer_pending", unit: "", "Messages not yet delivered to the consumer, as last polled."),
            labels: labels)
        ackPending = registry.makeGauge(
            descriptor: .banditd(
                "consumer_ack_pending", unit: "", "Messages delivered but not yet acknowledged, as last polled."),
            labels: labels)
    }

    static func deadLetterCounter(
        _ role: ConsumerRole, reason: RejectionReason, registry: PrometheusCollectorRegistry
    ) -> Counter {
        registry.makeCounter(
            descriptor: deadLettered, labels: [("consumer", role.rawValue), ("reason", reason.rawValue)])
    }

    func deadLettered(reason: RejectionReason, count: Int, registry: PrometheusCollectorRegistry) {
        let counter = deadLetteredByReason.withLock { counters in
            if let known = counters[reason] { return known }
            let added = Self.deadLetterCounter(role, reason: reason, registry: registry)
            counters[reason] = added
            return added
        }
        counter.increment(by: Int64(count))
        deadLetteredTotal.add(UInt64(count), ordering: .relaxed)
    }
}

/// A counter the health JSON reads too: the exported series and a readable copy, both moved by
/// the one call that records.
private final class HealthCounter: Sendable {
    private let exported: Counter
    private let count = Atomic<UInt64>(0)

    init(_ exported: Counter) {
        self.exported = exported
    }

    var value: UInt64 { count.load(ordering: .relaxed) }

    func increment(by amount: Int) {
        exported.increment(by: Int64(amount))
        count.add(UInt64(amount), ordering: .relaxed)
    }
}

/// `banditd_consumer_last_message_timestamp_seconds`: absent until the first message (a 0 would
/// read as "silent since 1970"), then the unix time of the last one.
private final class LastMessageGauge: Sendable {
    private let role: ConsumerRole
    private let registry: PrometheusCollectorRegistry
    private let state = Mutex<(gauge: Gauge?, seconds: Double?)>((nil, nil))

    init(_ role: ConsumerRole, registry: PrometheusCollectorRegistry) {
        self.role = role
        self.registry = registry
    }

    var value: Double? { state.withLock { $0.seconds } }

    func set(_ seconds: Double) {
        state.withLock { state in
            let gauge =
                state.gauge
                ?? registry.makeGauge(
                    descriptor: .banditd(
                        "consumer_last_message_timestamp", unit: "seconds", "Unix time of the last processed message."),
                    labels: [("consumer", role.rawValue)])
            gauge.set(to: seconds)
            state = (gauge, seconds)
        }
    }
}

extension MetricNameDescriptor {
    /// `banditd_{name}_{unit}`: the prefix, a base unit or `total` as the last word (empty for
    /// counts of things and 0/1 gauges), and the HELP text (CONTRACT section 11).
    static func banditd(_ name: String, unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "banditd", metricName: name, unitName: unit, helpText: help)
    }
}
