import Foundation
import Synchronization

/// The daemon's counters, histograms and gauges: created once with fixed names, rendered as
/// Prometheus text (exposition format 0.0.4) on the health socket's `metrics` command.
///
/// The same numbers feed the health JSON (``HealthState`` reads them from here), so each event is
/// recorded once. Recording takes one short lock and allocates nothing, except the first time a
/// dead-letter reason outside ``deadLetterReasons`` is seen. Record per batch, not per message.
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
/// | `banditd_apply_seconds` | histogram | one batch's database transaction; buckets 0.5 ms … 5 s |
/// | `banditd_consumer_pending` | gauge | `num_pending` of the consumer, as last polled |
/// | `banditd_consumer_ack_pending` | gauge | `num_ack_pending` of the consumer, as last polled |
/// | `banditd_consumer_last_message_timestamp_seconds` | gauge | unix time of the last processed message (absent until one) |
/// | `banditd_decisions_closed_by_default_total` | counter | decisions closed with their default reward |
/// | `banditd_rewards_late_total` | counter | late rewards that corrected a default closing |
/// | `banditd_database_reconnects_total` | counter | PostgreSQL reconnections |
/// | `banditd_nats_reconnects_total` | counter | NATS reconnections |
public final class Metrics: Sendable {
    /// Upper bounds of `banditd_batch_size`: 1, 2, 4, …, 1024 (the fetch batch is at most a few hundred).
    public static let batchSizeBuckets: [Double] = (0...10).map { Double(1 << $0) }
    /// Upper bounds of `banditd_apply_seconds`, in seconds.
    public static let applySecondsBuckets: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    ]
    /// The dead-letter reason codes of CONTRACT section 3. Their series exist from the start (at 0),
    /// so rates work before the first dead letter. Any other string is accepted as a reason too;
    /// keep reasons to stable codes, never free text, or the number of series grows without bound.
    public static let deadLetterReasons: [String] = [
        "json.invalid", "schema.invalid", "subject.unknown", "policy.unknown", "dimension.mismatch",
        "payload.too_large", "decision.already_rewarded", "decision.mismatch", "decision.duplicate", "data.rejected",
        "max_deliveries",
    ]

    private struct Consumer: Sendable {
        var processed: UInt64 = 0
        var errors: UInt64 = 0
        var redelivered: UInt64 = 0
        var parked: UInt64 = 0
        var deadLettered: [String: UInt64] = Dictionary(uniqueKeysWithValues: Metrics.deadLetterReasons.map { ($0, 0) })
        var lastMessageAt: Double?
        var pending: UInt64 = 0
        var ackPending: UInt64 = 0
        var batchSize = Histogram(bounds: Metrics.batchSizeBuckets)
        var applySeconds = Histogram(bounds: Metrics.applySecondsBuckets)
    }

    private struct Storage: Sendable {
        var consumers = ConsumerRole.allCases.map { _ in Consumer() }
        var databaseReconnects: UInt64 = 0
        var natsReconnects: UInt64 = 0
        var decisionsClosedByDefault: UInt64 = 0
        var rewardsLate: UInt64 = 0
    }

    private let storage = Mutex(Storage())

    public init() {}

    /// Counts `count` messages as processed (applied, or recognised as duplicates, and acked) and
    /// sets the consumer's `last_msg_ts` to `at`.
    public func recordProcessed(_ consumer: ConsumerRole, count: Int = 1, at time: Date = Date()) {
        guard count > 0 else { return }
        let seconds = time.timeIntervalSince1970
        storage.withLock {
            $0.consumers[consumer.index].processed += UInt64(count)
            $0.consumers[consumer.index].lastMessageAt = seconds
        }
    }

    /// Counts failed processing attempts (a nak for a retry, or a dead letter).
    public func recordErrors(_ consumer: ConsumerRole, count: Int = 1) {
        guard count > 0 else { return }
        storage.withLock { $0.consumers[consumer.index].errors += UInt64(count) }
    }

    /// Counts messages that arrived with a delivery count above 1.
    public func recordRedelivered(_ consumer: ConsumerRole, count: Int = 1) {
        guard count > 0 else { return }
        storage.withLock { $0.consumers[consumer.index].redelivered += UInt64(count) }
    }

    /// Counts rewards parked in PostgreSQL until their decision arrives.
    public func recordParked(_ consumer: ConsumerRole, count: Int = 1) {
        guard count > 0 else { return }
        storage.withLock { $0.consumers[consumer.index].parked += UInt64(count) }
    }

    /// Counts dead letters published (and acknowledged by JetStream) for `reason`, a stable code
    /// such as `schema.invalid` (see ``deadLetterReasons``).
    public func recordDeadLettered(_ consumer: ConsumerRole, reason: String, count: Int = 1) {
        guard count > 0 else { return }
        storage.withLock { $0.consumers[consumer.index].deadLettered[reason, default: 0] += UInt64(count) }
    }

    /// Observes the size of one non-empty fetch; empty fetches (`size == 0`) are not observed.
    public func recordBatch(_ consumer: ConsumerRole, size: Int) {
        guard size > 0 else { return }
        storage.withLock { $0.consumers[consumer.index].batchSize.observe(Double(size)) }
    }

    /// Observes how long one batch's database transaction took.
    public func recordApply(_ consumer: ConsumerRole, duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        storage.withLock { $0.consumers[consumer.index].applySeconds.observe(seconds) }
    }

    /// Sets the consumer's pending and ack-pending counts, as polled from its consumer info.
    public func setConsumerPending(_ consumer: ConsumerRole, pending: UInt64, ackPending: UInt64) {
        storage.withLock {
            $0.consumers[consumer.index].pending = pending
            $0.consumers[consumer.index].ackPending = ackPending
        }
    }

    /// The reward loop: decisions closed with their policy's default reward, and late rewards that
    /// corrected such a closing.
    public func recordRewardLoop(closedByDefault: Int, lateCorrected: Int) {
        storage.withLock {
            $0.decisionsClosedByDefault += UInt64(max(closedByDefault, 0))
            $0.rewardsLate += UInt64(max(lateCorrected, 0))
        }
    }

    /// Decisions closed with their default reward, and late rewards that corrected one, so far.
    public var rewardLoopCounts: (closedByDefault: UInt64, lateCorrected: UInt64) {
        storage.withLock { ($0.decisionsClosedByDefault, $0.rewardsLate) }
    }

    public func recordDatabaseReconnect() {
        storage.withLock { $0.databaseReconnects += 1 }
    }

    public func recordNATSReconnect() {
        storage.withLock { $0.natsReconnects += 1 }
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
        storage.withLock {
            let state = $0.consumers[consumer.index]
            return ConsumerCounters(
                processed: state.processed,
                errors: state.errors,
                redelivered: state.redelivered,
                deadLettered: state.deadLettered.values.reduce(0, +),
                lastMessageAt: state.lastMessageAt.map { Date(timeIntervalSince1970: $0) }
            )
        }
    }

    /// Prometheus text exposition format 0.0.4: `# HELP` and `# TYPE` before each family, one
    /// sample per line, histograms as cumulative `_bucket{le=…}` then `_sum` and `_count`.
    public func prometheusText() -> String {
        let state = storage.withLock { $0 }
        var text = PrometheusText()
        let consumers = ConsumerRole.allCases.map { ($0, state.consumers[$0.index]) }
        func perConsumerFamily(
            _ name: String, _ kind: PrometheusText.Kind, _ help: String, _ value: (Consumer) -> UInt64
        ) {
            text.family(name, kind, help)
            for (role, consumer) in consumers { text.sample(name, [("consumer", role.rawValue)], value(consumer)) }
        }
        func histogramFamily(_ name: String, _ help: String, _ histogram: (Consumer) -> Histogram) {
            text.family(name, .histogram, help)
            for (role, consumer) in consumers {
                text.histogram(name, [("consumer", role.rawValue)], histogram(consumer))
            }
        }

        perConsumerFamily(
            "banditd_messages_processed_total", .counter, "Messages applied (or found already applied) and acked.",
            \.processed)
        perConsumerFamily(
            "banditd_message_errors_total", .counter, "Failed processing attempts: nak'd for a retry or dead-lettered.",
            \.errors)
        perConsumerFamily(
            "banditd_messages_redelivered_total", .counter, "Messages that arrived with a delivery count above 1.",
            \.redelivered)

        perConsumerFamily(
            "banditd_rewards_parked_total", .counter,
            "Rewards kept in PostgreSQL until their decision arrives (acked, applied when it lands).", \.parked)

        let deadLettered = "banditd_messages_dead_lettered_total"
        text.family(deadLettered, .counter, "Messages published to deadletter.> and terminated, by reason code.")
        for (role, consumer) in consumers {
            for (reason, count) in consumer.deadLettered.sorted(by: { $0.key < $1.key }) {
                text.sample(deadLettered, [("consumer", role.rawValue), ("reason", reason)], count)
            }
        }

        histogramFamily("banditd_batch_size", "Messages per non-empty fetch.", \.batchSize)
        histogramFamily(
            "banditd_apply_seconds", "Duration of one batch's database transaction, in seconds.", \.applySeconds)

        perConsumerFamily(
            "banditd_consumer_pending", .gauge, "Messages not yet delivered to the consumer, as last polled.", \.pending
        )
        perConsumerFamily(
            "banditd_consumer_ack_pending", .gauge, "Messages delivered but not yet acknowledged, as last polled.",
            \.ackPending)

        let lastMessage = "banditd_consumer_last_message_timestamp_seconds"
        text.family(lastMessage, .gauge, "Unix time of the last processed message.")
        for (role, consumer) in consumers {
            if let last = consumer.lastMessageAt { text.sample(lastMessage, [("consumer", role.rawValue)], last) }
        }

        text.family(
            "banditd_decisions_closed_by_default_total", .counter,
            "Decisions closed with their policy's default reward when their reward window passed.")
        text.sample("banditd_decisions_closed_by_default_total", [], state.decisionsClosedByDefault)
        text.family(
            "banditd_rewards_late_total", .counter,
            "Late rewards that corrected a decision closed with its default reward.")
        text.sample("banditd_rewards_late_total", [], state.rewardsLate)

        text.family("banditd_database_reconnects_total", .counter, "PostgreSQL reconnections.")
        text.sample("banditd_database_reconnects_total", [], state.databaseReconnects)

        text.family("banditd_nats_reconnects_total", .counter, "NATS reconnections.")
        text.sample("banditd_nats_reconnects_total", [], state.natsReconnects)

        return text.output
    }
}
