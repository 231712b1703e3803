import Foundation
import Testing

@testable import BanditOperations

@Suite struct MetricsTests {
    /// The lines of one family: its HELP, TYPE and samples.
    func family(_ name: String, in text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("# HELP \(name) ") }) else { return "" }
        var end = start + 2
        while end < lines.count, !lines[end].hasPrefix("#"), !lines[end].isEmpty { end += 1 }
        return lines[start..<end].joined(separator: "\n") + "\n"
    }

    @Test func countersRenderWithHelpTypeAndOneSamplePerConsumer() {
        let metrics = Metrics()
        metrics.recordProcessed(.signals, count: 42)
        metrics.recordProcessed(.feedback)
        metrics.recordErrors(.feedback, count: 2)
        metrics.recordRedelivered(.signals, count: 3)
        let text = metrics.prometheusText()
        #expect(
            family("banditd_messages_processed_total", in: text) == """
                # HELP banditd_messages_processed_total Messages applied (or found already applied) and acked.
                # TYPE banditd_messages_processed_total counter
                banditd_messages_processed_total{consumer="signals"} 42
                banditd_messages_processed_total{consumer="feedback"} 1

                """
        )
        #expect(
            family("banditd_message_errors_total", in: text) == """
                # HELP banditd_message_errors_total Failed processing attempts: nak'd for a retry or dead-lettered.
                # TYPE banditd_message_errors_total counter
                banditd_message_errors_total{consumer="signals"} 0
                banditd_message_errors_total{consumer="feedback"} 2

                """
        )
        #expect(
            family("banditd_messages_redelivered_total", in: text) == """
                # HELP banditd_messages_redelivered_total Messages that arrived with a delivery count above 1.
                # TYPE banditd_messages_redelivered_total counter
                banditd_messages_redelivered_total{consumer="signals"} 3
                banditd_messages_redelivered_total{consumer="feedback"} 0

                """
        )
    }

    @Test func deadLettersAreCountedPerConsumerAndReasonWithContractReasonsPresetToZero() {
        let metrics = Metrics()
        metrics.recordDeadLettered(.signals, reason: "schema.invalid", count: 2)
        metrics.recordDeadLettered(.feedback, reason: "max_deliveries")
        metrics.recordDeadLettered(.feedback, reason: "odd\"reason\\\n")
        var expected = """
            # HELP banditd_messages_dead_lettered_total Messages published to deadletter.> and terminated, by reason code.
            # TYPE banditd_messages_dead_lettered_total counter

            """
        for consumer in ["signals", "feedback"] {
            var reasons = Metrics.deadLetterReasons
            if consumer == "feedback" { reasons.append("odd\"reason\\\n") }
            for reason in reasons.sorted() {
                let count =
                    switch (consumer, reason) {
                    case ("signals", "schema.invalid"): 2
                    case ("feedback", "max_deliveries"), ("feedback", "odd\"reason\\\n"): 1
                    default: 0
                    }
                let label = reason.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
                expected +=
                    "banditd_messages_dead_lettered_total{consumer=\"\(consumer)\",reason=\"\(label)\"} \(count)\n"
            }
        }
        #expect(family("banditd_messages_dead_lettered_total", in: metrics.prometheusText()) == expected)
        #expect(expected.contains(#"reason="odd\"reason\\\n"} 1"#))
        #expect(metrics.counters(.feedback).deadLettered == 2)
        #expect(metrics.counters(.signals).deadLettered == 2)
    }

    @Test func batchSizeHistogramIsCumulativeWithPowerOfTwoBucketsAndInf() {
        let metrics = Metrics()
        for size in [1, 3, 256, 2000, 0] { metrics.recordBatch(.signals, size: size) }
        let text = metrics.prometheusText()
        #expect(
            family("banditd_batch_size", in: text) == """
                # HELP banditd_batch_size Messages per non-empty fetch.
                # TYPE banditd_batch_size histogram
                banditd_batch_size_bucket{consumer="signals",le="1"} 1
                banditd_batch_size_bucket{consumer="signals",le="2"} 1
                banditd_batch_size_bucket{consumer="signals",le="4"} 2
                banditd_batch_size_bucket{consumer="signals",le="8"} 2
                banditd_batch_size_bucket{consumer="signals",le="16"} 2
                banditd_batch_size_bucket{consumer="signals",le="32"} 2
                banditd_batch_size_bucket{consumer="signals",le="64"} 2
                banditd_batch_size_bucket{consumer="signals",le="128"} 2
                banditd_batch_size_bucket{consumer="signals",le="256"} 3
                banditd_batch_size_bucket{consumer="signals",le="512"} 3
                banditd_batch_size_bucket{consumer="signals",le="1024"} 3
                banditd_batch_size_bucket{consumer="signals",le="+Inf"} 4
                banditd_batch_size_sum{consumer="signals"} 2260
                banditd_batch_size_count{consumer="signals"} 4
                banditd_batch_size_bucket{consumer="feedback",le="1"} 0
                banditd_batch_size_bucket{consumer="feedback",le="2"} 0
                banditd_batch_size_bucket{consumer="feedback",le="4"} 0
                banditd_batch_size_bucket{consumer="feedback",le="8"} 0
                banditd_batch_size_bucket{consumer="feedback",le="16"} 0
                banditd_batch_size_bucket{consumer="feedback",le="32"} 0
                banditd_batch_size_bucket{consumer="feedback",le="64"} 0
                banditd_batch_size_bucket{consumer="feedback",le="128"} 0
                banditd_batch_size_bucket{consumer="feedback",le="256"} 0
                banditd_batch_size_bucket{consumer="feedback",le="512"} 0
                banditd_batch_size_bucket{consumer="feedback",le="1024"} 0
                banditd_batch_size_bucket{consumer="feedback",le="+Inf"} 0
                banditd_batch_size_sum{consumer="feedback"} 0
                banditd_batch_size_count{consumer="feedback"} 0

                """
        )
    }

    @Test func applySecondsHistogramBucketsAreInclusiveUpperBoundsInSeconds() {
        let metrics = Metrics()
        metrics.recordApply(.feedback, duration: .microseconds(500))
        metrics.recordApply(.feedback, duration: .milliseconds(250))
        metrics.recordApply(.feedback, duration: .milliseconds(1500))
        metrics.recordApply(.feedback, duration: .seconds(8))
        let block = family("banditd_apply_seconds", in: metrics.prometheusText())
        let feedback = block.split(separator: "\n").filter { $0.contains(#"consumer="feedback""#) }.joined(
            separator: "\n")
        #expect(
            feedback == """
                banditd_apply_seconds_bucket{consumer="feedback",le="0.0005"} 1
                banditd_apply_seconds_bucket{consumer="feedback",le="0.001"} 1
                banditd_apply_seconds_bucket{consumer="feedback",le="0.0025"} 1
                banditd_apply_seconds_bucket{consumer="feedback",le="0.005"} 1
                banditd_apply_seconds_bucket{consumer="feedback",le="0.01"} 1
                banditd_apply_seconds_bucket{consumer="feedback",le="0.025"} 1
                banditd_apply_seconds_bucket{consumer="feedback",le="0.05"} 1
                banditd_apply_seconds_bucket{consumer="feedback",le="0.1"} 1
                banditd_apply_seconds_bucket{consumer="feedback",le="0.25"} 2
                banditd_apply_seconds_bucket{consumer="feedback",le="0.5"} 2
                banditd_apply_seconds_bucket{consumer="feedback",le="1"} 2
                banditd_apply_seconds_bucket{consumer="feedback",le="2.5"} 3
                banditd_apply_seconds_bucket{consumer="feedback",le="5"} 3
                banditd_apply_seconds_bucket{consumer="feedback",le="+Inf"} 4
                banditd_apply_seconds_sum{consumer="feedback"} 9.7505
                banditd_apply_seconds_count{consumer="feedback"} 4
                """
        )
        #expect(
            block.hasPrefix(
                "# HELP banditd_apply_seconds Duration of one batch's database transaction, in seconds.\n# TYPE banditd_apply_seconds histogram\n"
            ))
    }

    @Test func gaugesAndServerCountersRenderExactly() {
        let metrics = Metrics()
        metrics.setConsumerPending(.signals, pending: 1200, ackPending: 256)
        metrics.setConsumerPending(.signals, pending: 1000, ackPending: 128)
        metrics.recordDatabaseReconnect()
        metrics.recordDatabaseReconnect()
        metrics.recordNATSReconnect()
        metrics.recordProcessed(.feedback, at: Date(timeIntervalSince1970: 1_777_111_200.5))
        let text = metrics.prometheusText()
        #expect(
            family("banditd_consumer_pending", in: text) == """
                # HELP banditd_consumer_pending Messages not yet delivered to the consumer, as last polled.
                # TYPE banditd_consumer_pending gauge
                banditd_consumer_pending{consumer="signals"} 1000
                banditd_consumer_pending{consumer="feedback"} 0

                """
        )
        #expect(
            family("banditd_consumer_ack_pending", in: text) == """
                # HELP banditd_consumer_ack_pending Messages delivered but not yet acknowledged, as last polled.
                # TYPE banditd_consumer_ack_pending gauge
                banditd_consumer_ack_pending{consumer="signals"} 128
                banditd_consumer_ack_pending{consumer="feedback"} 0

                """
        )
        #expect(
            family("banditd_consumer_last_message_timestamp_seconds", in: text) == """
                # HELP banditd_consumer_last_message_timestamp_seconds Unix time of the last processed message.
                # TYPE banditd_consumer_last_message_timestamp_seconds gauge
                banditd_consumer_last_message_timestamp_seconds{consumer="feedback"} 1777111200.5

                """
        )
        #expect(
            text.hasSuffix(
                """
                # HELP banditd_database_reconnects_total PostgreSQL reconnections.
                # TYPE banditd_database_reconnects_total counter
                banditd_database_reconnects_total 2
                # HELP banditd_nats_reconnects_total NATS reconnections.
                # TYPE banditd_nats_reconnects_total counter
                banditd_nats_reconnects_total 1

                """
            )
        )
    }

    @Test func everySampleBelongsToAFamilyDeclaredOnceBeforeIt() {
        let metrics = Metrics()
        metrics.recordBatch(.signals, size: 10)
        metrics.recordProcessed(.signals)
        var declared: [String: String] = [:]
        var helped: Set<String> = []
        for line in metrics.prometheusText().split(separator: "\n") {
            let words = line.split(separator: " ")
            if line.hasPrefix("# HELP ") {
                #expect(helped.insert(String(words[2])).inserted)
            } else if line.hasPrefix("# TYPE ") {
                #expect(declared.updateValue(String(words[3]), forKey: String(words[2])) == nil)
            } else {
                let sample = String(words[0].prefix { $0 != "{" })
                let base = ["_bucket", "_sum", "_count"].reduce(sample) { name, suffix in
                    declared[name] == nil && name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : name
                }
                #expect(declared[base] != nil, "sample \(sample) has no TYPE")
                #expect(helped.contains(base), "sample \(sample) has no HELP")
                #expect(words.count == 2 && Double(words[1].replacingOccurrences(of: "+Inf", with: "inf")) != nil)
            }
        }
        #expect(declared.count == 14)
    }

    @Test func numbersAreWrittenTheWayPrometheusParsesThem() {
        #expect(PrometheusText.number(1024) == "1024")
        #expect(PrometheusText.number(0.0005) == "0.0005")
        #expect(PrometheusText.number(2.5) == "2.5")
        #expect(PrometheusText.number(.infinity) == "+Inf")
        #expect(PrometheusText.number(.nan) == "NaN")
    }
}
