import BanditCore
import Foundation
import TestSupport
import Testing

@testable import BanditOperations

/// The metrics as Prometheus reads them (CONTRACT section 11), and the same recordings as the
/// health JSON reads them (section 7).
@Suite struct MetricsTests {
    /// Every family the daemon exposes, with its type: the README's list.
    static let families: [String: String] = [
        "banditd_messages_processed_total": "counter", "banditd_message_errors_total": "counter",
        "banditd_messages_redelivered_total": "counter", "banditd_rewards_parked_total": "counter",
        "banditd_messages_dead_lettered_total": "counter", "banditd_batch_size": "histogram",
        "banditd_apply_seconds": "histogram", "banditd_consumer_pending": "gauge",
        "banditd_consumer_ack_pending": "gauge", "banditd_consumer_last_message_timestamp_seconds": "gauge",
        "banditd_database_reconnects_total": "counter", "banditd_nats_reconnects_total": "counter",
        "banditd_decisions_closed_by_default_total": "counter", "banditd_rewards_late_total": "counter",
        "banditd_build_info": "gauge", "banditd_up": "gauge", "banditd_process_start_time_seconds": "gauge",
        "banditd_nats_connected": "gauge", "banditd_postgres_connected": "gauge", "banditd_worker_holding": "gauge",
        "banditd_worker_dead_letters_waiting": "gauge", "banditd_ledger_rows": "gauge",
        "banditd_ledger_oldest_age_seconds": "gauge", "banditd_retention_last_run_timestamp_seconds": "gauge",
        "banditd_retention_last_run_ok": "gauge",
    ]

    @Test func countersHaveOneSeriesPerConsumerAndTheHealthJSONReadsTheSameRecordings() {
        let metrics = Metrics()
        metrics.recordProcessed(.signals, count: 42)
        metrics.recordProcessed(.feedback)
        metrics.recordErrors(.feedback, count: 2)
        metrics.recordRedelivered(.signals, count: 3)
        metrics.recordParked(.feedback, count: 4)
        let exposition = Exposition(metrics.prometheusText())
        #expect(
            exposition.samples("banditd_messages_processed_total") == [
                #"banditd_messages_processed_total{consumer="feedback"} 1"#,
                #"banditd_messages_processed_total{consumer="signals"} 42"#,
            ])
        #expect(
            exposition.samples("banditd_message_errors_total") == [
                #"banditd_message_errors_total{consumer="feedback"} 2"#,
                #"banditd_message_errors_total{consumer="signals"} 0"#,
            ])
        #expect(
            exposition.samples("banditd_messages_redelivered_total") == [
                #"banditd_messages_redelivered_total{consumer="feedback"} 0"#,
                #"banditd_messages_redelivered_total{consumer="signals"} 3"#,
            ])
        #expect(
            exposition.samples("banditd_rewards_parked_total") == [
                #"banditd_rewards_parked_total{consumer="feedback"} 4"#,
                #"banditd_rewards_parked_total{consumer="signals"} 0"#,
            ])
        #expect(
            exposition.families["banditd_messages_processed_total"]?.help
                == "Messages applied (or found already applied) and acked.")
        let signals = metrics.counters(.signals)
        #expect((signals.processed, signals.errors, signals.redelivered) == (42, 0, 3))
        let feedback = metrics.counters(.feedback)
        #expect((feedback.processed, feedback.errors, feedback.redelivered) == (1, 2, 0))
    }

    @Test func deadLettersAreCountedPerConsumerAndReasonWithEveryKnownReasonPresetToZero() {
        let metrics = Metrics()
        metrics.recordDeadLettered(.signals, reason: .schemaInvalid, count: 2)
        metrics.recordDeadLettered(.feedback, reason: .maxDeliveries)
        // A label value that needs escaping in the exposition.
        metrics.recordDeadLettered(.feedback, reason: RejectionReason(rawValue: "odd\"reason\\\n"))
        var expected: [String] = []
        for consumer in ["signals", "feedback"] {
            for reason in Metrics.deadLetterReasons {
                let count =
                    switch (consumer, reason.rawValue) {
                    case ("signals", "schema.invalid"): 2
                    case ("feedback", "max_deliveries"): 1
                    default: 0
                    }
                expected.append(
                    "banditd_messages_dead_lettered_total{consumer=\"\(consumer)\",reason=\"\(reason)\"} \(count)")
            }
        }
        expected.append(#"banditd_messages_dead_lettered_total{consumer="feedback",reason="odd\"reason\\\n"} 1"#)
        let exposition = Exposition(metrics.prometheusText())
        #expect(exposition.samples("banditd_messages_dead_lettered_total") == expected.sorted())
        #expect(Metrics.deadLetterReasons.contains(.decisionDuplicate))
        #expect(Metrics.deadLetterReasons.contains(.dataRejected))
        #expect(Metrics.deadLetterReasons.contains(.maxDeliveries))
        #expect(metrics.counters(.feedback).deadLettered == 2)
        #expect(metrics.counters(.signals).deadLettered == 2)
    }

    @Test func batchSizeIsACumulativeHistogramWithPowerOfTwoBuckets() {
        let metrics = Metrics()
        for size in [1, 3, 256, 2000, 0] { metrics.recordBatch(.signals, size: size) }
        let samples = Exposition(metrics.prometheusText()).samples("banditd_batch_size")
        let signals = samples.filter { $0.contains(#"consumer="signals""#) }
        let cumulative = [1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3]
        var expected = zip(Metrics.batchSizeBuckets, cumulative).map { bound, count in
            "banditd_batch_size_bucket{consumer=\"signals\",le=\"\(bound)\"} \(count)"
        }
        expected += [
            #"banditd_batch_size_bucket{consumer="signals",le="+Inf"} 4"#,
            #"banditd_batch_size_count{consumer="signals"} 4"#, #"banditd_batch_size_sum{consumer="signals"} 2260.0"#,
        ]
        #expect(signals == expected.sorted())
        #expect(samples.contains(#"banditd_batch_size_count{consumer="feedback"} 0"#))
    }

    @Test func applyDurationsAreAHistogramInSecondsWithInclusiveUpperBounds() {
        let metrics = Metrics()
        for duration: Duration in [.microseconds(500), .milliseconds(250), .milliseconds(1500), .seconds(8)] {
            metrics.recordApply(.feedback, duration: duration)
        }
        let exposition = Exposition(metrics.prometheusText())
        let feedback = exposition.families["banditd_apply_seconds"]?.samples.filter {
            $0.contains(#"consumer="feedback""#)
        }
        #expect(
            feedback == [
                #"banditd_apply_seconds_bucket{consumer="feedback",le="0.0005"} 1"#,
                #"banditd_apply_seconds_bucket{consumer="feedback",le="0.001"} 1"#,
                #"banditd_apply_seconds_bucket{consumer="feedback",le="0.0025"} 1"#,
                #"banditd_apply_seconds_bucket{consumer="feedback",le="0.005"} 1"#,
                #"banditd_apply_seconds_bucket{consumer="feedback",le="0.01"} 1"#,
                #"banditd_apply_seconds_bucket{consumer="feedback",le="0.025"} 1"#,
                #"banditd_apply_seconds_bucket{consumer="feedback",le="0.05"} 1"#,
                #"banditd_apply_seconds_bucket{consumer="feedback",le="0.1"} 1"#,
                #"banditd_apply_seconds_bucket{consumer="feedback",le="0.25"} 2"#,
                #"banditd_apply_seconds_bucket{consumer="feedback",le="0.5"} 2"#,
                #"banditd_apply_seconds_bucket{consumer="feedback",le="1.0"} 2"#,
                #"banditd_apply_seconds_bucket{consumer="feedback",le="2.5"} 3"#,
                #"banditd_apply_seconds_bucket{consumer="feedback",le="5.0"} 3"#,
                #"banditd_apply_seconds_bucket{consumer="feedback",le="+Inf"} 4"#,
                #"banditd_apply_seconds_sum{consumer="feedback"} 9.7505"#,
                #"banditd_apply_seconds_count{consumer="feedback"} 4"#,
            ])
        #expect(exposition.families["banditd_apply_seconds"]?.type == "histogram")
    }

    @Test func consumerLagGaugesHoldTheLastPolledValues() {
        let metrics = Metrics()
        metrics.setConsumerPending(.signals, pending: 1200, ackPending: 256)
        metrics.setConsumerPending(.signals, pending: 1000, ackPending: 128)
        let exposition = Exposition(metrics.prometheusText())
        #expect(exposition.value(#"banditd_consumer_pending{consumer="signals"}"#) == 1000)
        #expect(exposition.value(#"banditd_consumer_ack_pending{consumer="signals"}"#) == 128)
        #expect(exposition.value(#"banditd_consumer_pending{consumer="feedback"}"#) == 0)
        #expect(exposition.families["banditd_consumer_pending"]?.type == "gauge")
    }

    @Test func theLastMessageTimestampIsAbsentUntilAMessageIsProcessed() {
        let metrics = Metrics()
        let name = "banditd_consumer_last_message_timestamp_seconds"
        #expect(Exposition(metrics.prometheusText()).families[name] == nil)
        metrics.recordProcessed(.feedback, at: Date(timeIntervalSince1970: 1_777_111_200.5))
        #expect(Exposition(metrics.prometheusText()).samples(name) == ["\(name){consumer=\"feedback\"} 1777111200.5"])
        #expect(metrics.counters(.feedback).lastMessageAt == Date(timeIntervalSince1970: 1_777_111_200.5))
        #expect(metrics.counters(.signals).lastMessageAt == nil)
    }

    @Test func reconnectsAreCountedWithoutLabels() {
        let metrics = Metrics()
        metrics.recordDatabaseReconnect()
        metrics.recordDatabaseReconnect()
        metrics.recordNATSReconnect()
        let exposition = Exposition(metrics.prometheusText())
        #expect(exposition.samples("banditd_database_reconnects_total") == ["banditd_database_reconnects_total 2"])
        #expect(exposition.samples("banditd_nats_reconnects_total") == ["banditd_nats_reconnects_total 1"])
    }

    @Test func theRewardLoopCountsClosingsAndLateCorrectionsForMetricsAndHealth() {
        let metrics = Metrics()
        metrics.recordRewardLoop(closedByDefault: 3, lateCorrected: 0)
        metrics.recordRewardLoop(closedByDefault: 2, lateCorrected: 1)
        metrics.recordRewardLoop(closedByDefault: -1, lateCorrected: 0)
        let exposition = Exposition(metrics.prometheusText())
        #expect(exposition.value("banditd_decisions_closed_by_default_total") == 5)
        #expect(exposition.value("banditd_rewards_late_total") == 1)
        #expect(metrics.rewardLoopCounts == (5, 1))
    }

    @Test func everyFamilyIsDeclaredOnceWithHelpAndTypeBeforeItsSamples() {
        let state = HealthState(version: "1.0.0", uptime: { .seconds(1) })
        state.updateWorker("signals-0", consumer: .signals) { $0.deadLettersWaiting = 1 }
        state.metrics.recordProcessed(.signals)
        let exposition = Exposition(state.prometheusText())
        #expect(exposition.problems == [])
        #expect(exposition.families.mapValues { $0.type ?? "" } == Self.families)
        for (name, family) in exposition.families {
            #expect(family.help?.isEmpty == false, "\(name) has no HELP")
            #expect(!family.samples.isEmpty, "\(name) has no sample")
        }
    }

    /// promtool's linter checks the naming conventions (`_total` counters, base units, no
    /// abbreviated units) and the format itself.
    @Test func promtoolAcceptsTheExpositionAndItsNames() throws {
        let promtool = try Executable.locate("promtool", environmentOverride: "BANDITD_TEST_PROMTOOL")
        let directory = try TemporaryDirectory(prefix: "banditd-promtool")
        defer { directory.remove() }
        let state = HealthState(version: "1.0.0", uptime: { .seconds(1) })
        state.updateWorker("signals-0", consumer: .signals) { $0.holdingSince = Date() }
        state.metrics.recordProcessed(.signals)
        state.metrics.recordApply(.signals, duration: .milliseconds(3))
        state.metrics.recordDeadLettered(.signals, reason: .schemaInvalid)
        let file = directory.appending("metrics.txt")
        try state.prometheusText().write(toFile: file, atomically: true, encoding: .utf8)
        let output = try ChildProcess.run(
            "/bin/sh", arguments: ["-c", "\"$0\" check metrics < \"$1\"", promtool, file],
            logFile: directory.appending("promtool.log"))
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool: \(output)")
    }

    @Test func recordingsFromManyThreadsAllCount() async {
        let metrics = Metrics()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<1000 {
                        metrics.recordProcessed(.signals)
                        metrics.recordDeadLettered(.feedback, reason: .jsonInvalid)
                        metrics.recordApply(.signals, duration: .milliseconds(1))
                    }
                }
            }
        }
        let exposition = Exposition(metrics.prometheusText())
        #expect(metrics.counters(.signals).processed == 8000)
        #expect(exposition.value(#"banditd_messages_processed_total{consumer="signals"}"#) == 8000)
        #expect(metrics.counters(.feedback).deadLettered == 8000)
        #expect(
            exposition.value(#"banditd_messages_dead_lettered_total{consumer="feedback",reason="json.invalid"}"#)
                == 8000)
        #expect(exposition.value(#"banditd_apply_seconds_count{consumer="signals"}"#) == 8000)
    }
}
