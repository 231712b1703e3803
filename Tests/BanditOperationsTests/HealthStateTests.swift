import Foundation
import Testing

@testable import BanditOperations

@Suite struct HealthStateTests {
    static let contractTime = ISO8601DateFormatter().date(from: "2026-04-25T10:00:00Z")!

    func makeState() -> HealthState {
        HealthState(version: "1.0.0", uptime: { .milliseconds(12_500) })
    }

    /// The contract's members come first, byte for byte as in CONTRACT section 7; what each worker
    /// loop is doing follows as one more member, `workers` (readers ignore members they do not know).
    @Test func healthJSONMatchesTheContractExampleByteForByte() {
        let state = makeState()
        state.setNATSConnected(true)
        state.setPostgresConnected(true)
        state.markReady()
        state.metrics.recordProcessed(.signals, count: 42, at: Self.contractTime)

        #expect(
            state.healthJSON()
                == #"{"ok":true,"status":"ready","version":"1.0.0","uptime_s":12.5,"#
                + #""nats":{"connected":true,"consumers":{"#
                + #""signals":{"last_msg_ts":"2026-04-25T10:00:00Z","processed":42,"errors":0,"redelivered":0,"dead_lettered":0},"#
                + #""feedback":{"last_msg_ts":null,"processed":0,"errors":0,"redelivered":0,"dead_lettered":0}}},"#
                + #""postgres":{"connected":true},"workers":{},"reward_loop":{"closed_by_default":0,"late_corrected":0}}"#
        )
    }

    @Test func aHoldingWorkerMakesTheDaemonDegradedAndSaysSinceWhenAndWhy() {
        let state = makeState()
        state.setNATSConnected(true)
        state.setPostgresConnected(true)
        state.markReady()
        #expect(state.status == .ready)
        state.updateWorker("signals-0", consumer: .signals) {
            $0.holdingSince = Self.contractTime
            $0.holdCode = "postgres_lock_timeout"
            $0.holdReason = "lock timeout (SQLSTATE 55P03)"
        }
        #expect(state.status == .degraded)
        #expect(state.isHolding(.signals))
        #expect(!state.isHolding(.feedback))
        #expect(
            state.healthJSON().hasSuffix(
                #""workers":{"signals-0":{"consumer":"signals","last_progress_ts":null,"#
                    + #""holding":{"since":"2026-04-25T10:00:00Z","code":"postgres_lock_timeout","#
                    + #""reason":"lock timeout (SQLSTATE 55P03)"},"dead_letters_waiting":0,"dead_letter_failure":null}},"#
                    + #""reward_loop":{"closed_by_default":0,"late_corrected":0}}"#
            ))
        #expect(state.statusLine() == "degraded: signals-0 holding: lock timeout (SQLSTATE 55P03)")
        #expect(
            Exposition(state.prometheusText()).value(#"banditd_worker_holding{consumer="signals",worker="signals-0"}"#)
                == 1)
        state.updateWorker("signals-0", consumer: .signals) { $0.holdingSince = nil }
        #expect(state.status == .ready)
    }

    @Test func deadLettersThatCannotBeStoredMakeTheDaemonDegraded() {
        let state = makeState()
        state.setNATSConnected(true)
        state.setPostgresConnected(true)
        state.markReady()
        state.updateWorker("feedback-0", consumer: .feedback) {
            $0.deadLettersWaiting = 3
            $0.deadLetterFailure = "the DEADLETTER stream refuses dead letters: maximum messages exceeded"
        }
        #expect(state.status == .degraded)
        #expect(state.statusLine() == "degraded: feedback-0: 3 dead letter(s) not stored")
        #expect(state.healthJSON().contains(#""dead_letters_waiting":3,"#))
        state.updateWorker("feedback-0", consumer: .feedback) { $0.deadLettersWaiting = 0 }
        #expect(state.status == .ready)
    }

    @Test func statusIsStartingUntilMarkedReadyEvenWhenConnected() {
        let state = makeState()
        #expect(state.status == .starting)
        state.setNATSConnected(true)
        state.setPostgresConnected(true)
        #expect(state.status == .starting)
        #expect(
            state.healthJSON()
                == #"{"ok":false,"status":"starting","version":"1.0.0","uptime_s":12.5,"#
                + #""nats":{"connected":true,"consumers":{"#
                + #""signals":{"last_msg_ts":null,"processed":0,"errors":0,"redelivered":0,"dead_lettered":0},"#
                + #""feedback":{"last_msg_ts":null,"processed":0,"errors":0,"redelivered":0,"dead_lettered":0}}},"#
                + #""postgres":{"connected":true},"workers":{},"reward_loop":{"closed_by_default":0,"late_corrected":0}}"#
        )
    }

    @Test func statusGoesStartingReadyDegradedReadyStopping() {
        let state = makeState()
        var seen: [HealthStatus] = [state.status]
        state.setNATSConnected(true)
        state.setPostgresConnected(true)
        seen.append(state.markReady())
        seen.append(state.setNATSConnected(false))
        seen.append(state.setNATSConnected(true))
        seen.append(state.setPostgresConnected(false))
        seen.append(state.setPostgresConnected(true))
        state.markStopping()
        seen.append(state.status)
        #expect(seen == [.starting, .ready, .degraded, .ready, .degraded, .ready, .stopping])
    }

    @Test func degradedWhenEitherServerIsUnreachableAfterReady() {
        let state = makeState()
        state.markReady()
        #expect(state.status == .degraded)
        state.setNATSConnected(true)
        #expect(state.status == .degraded)
        state.setPostgresConnected(true)
        #expect(state.status == .ready)
        state.setNATSConnected(false)
        state.setPostgresConnected(false)
        #expect(state.status == .degraded)
        #expect(state.healthJSON().hasPrefix(#"{"ok":false,"status":"degraded","#))
        #expect(state.healthJSON().contains(#""nats":{"connected":false,"#))
        #expect(
            state.healthJSON().hasSuffix(
                #""postgres":{"connected":false},"workers":{},"reward_loop":{"closed_by_default":0,"late_corrected":0}}"#
            ))
    }

    @Test func stoppingIsFinalWhateverTheConnectionsDo() {
        let state = makeState()
        state.setNATSConnected(true)
        state.setPostgresConnected(true)
        state.markReady()
        state.markStopping()
        #expect(state.setNATSConnected(true) == .stopping)
        #expect(state.markReady() == .stopping)
        #expect(state.healthJSON().hasPrefix(#"{"ok":false,"status":"stopping","#))
    }

    @Test(arguments: HealthStatus.allCases)
    func okIsTrueOnlyWhenReady(_ wanted: HealthStatus) throws {
        let state = makeState()
        switch wanted {
        case .starting: break
        case .ready:
            state.setNATSConnected(true)
            state.setPostgresConnected(true)
            state.markReady()
        case .degraded: state.markReady()
        case .stopping: state.markStopping()
        }
        #expect(state.status == wanted)
        let object = try #require(
            JSONSerialization.jsonObject(with: Data(state.healthJSON().utf8)) as? [String: Any]
        )
        #expect(object["ok"] as? Bool == (wanted == .ready))
        #expect(object["status"] as? String == wanted.rawValue)
        #expect(state.isOK == (wanted == .ready))
        #expect(HealthClient.isOK(healthJSON: state.healthJSON()) == (wanted == .ready))
    }

    @Test func healthJSONIsOneLineOfValidJSONWithEveryCounter() throws {
        let state = HealthState(version: "1.0.0-\"beta\"\n", uptime: { .seconds(3) })
        state.metrics.recordProcessed(.feedback, count: 7, at: Self.contractTime.addingTimeInterval(0.75))
        state.metrics.recordErrors(.feedback, count: 3)
        state.metrics.recordRedelivered(.feedback, count: 2)
        state.metrics.recordDeadLettered(.feedback, reason: .schemaInvalid)
        state.metrics.recordDeadLettered(.feedback, reason: .maxDeliveries, count: 2)
        let json = state.healthJSON()
        #expect(!json.contains("\n"))
        let object = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["version"] as? String == "1.0.0-\"beta\"\n")
        #expect(json.contains(#""uptime_s":3,"#))
        #expect(
            json.contains(
                #""feedback":{"last_msg_ts":"2026-04-25T10:00:00Z","processed":7,"errors":3,"redelivered":2,"dead_lettered":3}"#
            )
        )
    }

    @Test func statusLineSaysWhatIsWrongInWords() {
        let state = makeState()
        #expect(state.statusLine() == "starting")
        state.markReady()
        #expect(state.statusLine() == "degraded: NATS and PostgreSQL unreachable")
        state.setNATSConnected(true)
        #expect(state.statusLine() == "degraded: PostgreSQL unreachable")
        state.setPostgresConnected(true)
        state.metrics.recordProcessed(.signals, count: 5)
        #expect(state.statusLine() == "ready: signals 5 processed, feedback 0 processed")
        state.markStopping()
        #expect(state.statusLine() == "stopping: finishing in-flight messages")
    }

    @Test func uptimeIsSecondsWithMillisecondPrecision() {
        #expect(JSONText.seconds(.milliseconds(12_500)) == "12.5")
        #expect(JSONText.seconds(.milliseconds(1)) == "0.001")
        #expect(JSONText.seconds(.seconds(3)) == "3")
        #expect(JSONText.seconds(.milliseconds(61_020)) == "61.02")
    }

    @Test func lastMessageTimestampIsUTCToTheSecondWithZ() {
        #expect(JSONText.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(JSONText.timestamp(Self.contractTime.addingTimeInterval(59.9)) == "2026-04-25T10:00:59Z")
    }

    @Test func metricsAnswerHasVersionUpStartTimeAndConnectionGauges() throws {
        let state = makeState()
        state.setNATSConnected(true)
        state.markReady()
        var exposition = Exposition(state.prometheusText())
        #expect(exposition.samples("banditd_build_info") == [#"banditd_build_info{version="1.0.0"} 1.0"#])
        #expect(exposition.value("banditd_up") == 0)
        #expect(exposition.value("banditd_nats_connected") == 1)
        #expect(exposition.value("banditd_postgres_connected") == 0)
        let started = try #require(exposition.value("banditd_process_start_time_seconds"))
        #expect(abs(started - Date().timeIntervalSince1970) < 60)
        state.setPostgresConnected(true)
        exposition = Exposition(state.prometheusText())
        #expect(exposition.value("banditd_up") == 1)
        #expect(exposition.value("banditd_postgres_connected") == 1)
        // The same registry renders the consumers' families.
        #expect(exposition.families["banditd_messages_processed_total"] != nil)
    }

    @Test func workerGaugesFollowEachLoop() {
        let state = makeState()
        state.updateWorker("signals-0", consumer: .signals) { $0.holdingSince = Self.contractTime }
        state.updateWorker("feedback-1", consumer: .feedback) { $0.deadLettersWaiting = 3 }
        var exposition = Exposition(state.prometheusText())
        #expect(
            exposition.samples("banditd_worker_holding") == [
                #"banditd_worker_holding{consumer="feedback",worker="feedback-1"} 0.0"#,
                #"banditd_worker_holding{consumer="signals",worker="signals-0"} 1.0"#,
            ])
        #expect(
            exposition.value(#"banditd_worker_dead_letters_waiting{consumer="feedback",worker="feedback-1"}"#) == 3)
        state.updateWorker("signals-0", consumer: .signals) { $0.holdingSince = nil }
        state.updateWorker("feedback-1", consumer: .feedback) { $0.deadLettersWaiting = 0 }
        exposition = Exposition(state.prometheusText())
        #expect(exposition.value(#"banditd_worker_holding{consumer="signals",worker="signals-0"}"#) == 0)
        #expect(
            exposition.value(#"banditd_worker_dead_letters_waiting{consumer="feedback",worker="feedback-1"}"#) == 0)
    }
}
