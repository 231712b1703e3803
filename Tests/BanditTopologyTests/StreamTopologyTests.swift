import BanditTopology
import Foundation
import NATSKit
import TestSupport
import Testing

private func topology(prefix: String = "feature-pipeline", maxDeliver: Int = 5) -> StreamTopology {
    StreamTopology(
        durablePrefix: prefix, maxDeliver: maxDeliver, ackWait: .seconds(30), maxAckPending: 1000, replicas: 1)
}

struct ConsumerCompatibilityTests {
    let expected = topology().consumers[0].configuration

    @Test func theConfiguredConsumerIsCompatibleWithItself() {
        #expect(StreamTopology.incompatibilities(of: expected, with: expected).isEmpty)
    }

    @Test func contractNamesAndSettings() {
        let topology = topology(prefix: "fp")
        #expect(topology.streams.map(\.name) == ["SIGNALS", "FEEDBACK", "DEADLETTER", "fp-max-deliveries"])
        #expect(
            topology.streams.map(\.subjects) == [
                ["signals.>"], ["feedback.>"], ["deadletter.>"],
                [
                    "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.SIGNALS.fp-signals",
                    "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.FEEDBACK.fp-feedback",
                ],
            ])
        // The capture stream of max-deliveries advisories: a work queue, read by a consumer that
        // never gives up on an advisory.
        #expect(topology.streams[3].retention == .workqueue)
        #expect(topology.recoveryConsumer.configuration.durableName == "fp-max-deliveries")
        #expect(topology.recoveryConsumer.configuration.maxDeliver == -1)
        #expect(topology.consumers.map(\.configuration.durableName) == ["fp-signals", "fp-feedback"])
        #expect(topology.consumers.map(\.stream) == ["SIGNALS", "FEEDBACK"])
        #expect(topology.consumers.allSatisfy { $0.configuration.ackPolicy == .explicit })
        #expect(topology.consumers.allSatisfy { $0.configuration.backoff.isEmpty })
        #expect(topology.consumers.allSatisfy { $0.configuration.deliverSubject == nil })
    }

    @Test func ackPolicyNoneIsIncompatible() {
        var existing = expected
        existing.ackPolicy = .none
        #expect(
            StreamTopology.incompatibilities(of: existing, with: expected) == ["ack_policy is none, expected explicit"])
    }

    @Test func aDifferentMaxDeliverIsIncompatibleAndNamesTheSetting() throws {
        var existing = expected
        existing.maxDeliver = 3
        let problem = try #require(StreamTopology.incompatibilities(of: existing, with: expected).first)
        #expect(problem.contains("max_deliver is 3, expected 5"))
        #expect(problem.contains("NATS_MAX_DELIVER"))
    }

    @Test func aDifferentAckWaitIsIncompatible() {
        var existing = expected
        existing.ackWait = .seconds(5)
        #expect(StreamTopology.incompatibilities(of: existing, with: expected).count == 1)
    }

    @Test func aBackoffIsIncompatible() {
        var existing = expected
        existing.backoff = [.seconds(1), .seconds(5)]
        #expect(StreamTopology.incompatibilities(of: existing, with: expected).first?.contains("backoff") == true)
    }

    @Test func aPushConsumerIsIncompatible() {
        var existing = expected
        existing.deliverSubject = "deliver.here"
        #expect(StreamTopology.incompatibilities(of: existing, with: expected).first?.contains("push consumer") == true)
    }

    @Test func aFilterSubjectIsIncompatible() {
        var existing = expected
        existing.filterSubject = "signals.decision"
        #expect(StreamTopology.incompatibilities(of: existing, with: expected).count == 1)
    }

    @Test func aDifferentMaxAckPendingIsCompatible() {
        var existing = expected
        existing.maxAckPending = 20
        #expect(StreamTopology.incompatibilities(of: existing, with: expected).isEmpty)
    }

    @Test func aStreamMissingTheSubjectIsIncompatible() {
        let expectedStream = topology().streams[0]
        var existing = expectedStream
        existing.subjects = ["signals.task.>"]
        #expect(StreamTopology.incompatibilities(of: existing, with: expectedStream).count == 1)
        existing.subjects = ["signals.>", "other.>"]
        #expect(StreamTopology.incompatibilities(of: existing, with: expectedStream).isEmpty)
    }
}

/// `streams ensure` against a real server. Each test gets its own server: the stream names are fixed.
@Suite(.serialized)
struct StreamsEnsureTests {
    private func withServer(_ body: @escaping @Sendable (NATSConnection) throws -> Void) async throws {
        try await onDedicatedThread {
            let server = try NATSServer.start()
            defer { server.stop() }
            let connection = try NATSConnection(options: NATSConnectionOptions(servers: [server.url]))
            try body(connection)
        }
    }

    @Test func ensureCreatesEverythingThenVerifiesIt() async throws {
        try await withServer { connection in
            let first = try topology().ensure(on: connection)
            #expect(first.streams.map(\.action) == [.created, .created, .created, .created])
            #expect(first.consumers.map(\.action) == [.created, .created, .created])
            let second = try topology().ensure(on: connection)
            #expect(second.streams.map(\.action) == [.verified, .verified, .verified, .verified])
            #expect(second.consumers.map(\.action) == [.verified, .verified, .verified])
            let info = try connection.consumerInfo(stream: "SIGNALS", consumer: "feature-pipeline-signals")
            #expect(info.config.ackPolicy == .explicit)
            #expect(info.config.maxDeliver == 5)
            #expect(info.config.ackWait == .seconds(30))
        }
    }

    @Test func anExistingConsumerWithAckPolicyNoneIsAClearError() async throws {
        try await withServer { connection in
            _ = try connection.createStream(StreamConfiguration(name: "SIGNALS", subjects: ["signals.>"]))
            _ = try connection.createOrUpdateConsumer(
                stream: "SIGNALS", ConsumerConfiguration(durableName: "feature-pipeline-signals", ackPolicy: .none))
            let error = #expect(throws: TopologyError.self) { _ = try topology().ensure(on: connection) }
            #expect(error?.description.contains("consumer feature-pipeline-signals on stream SIGNALS") == true)
            #expect(error?.description.contains("ack_policy is none, expected explicit") == true)
        }
    }

    @Test func anExistingConsumerWithAnotherMaxDeliverIsAClearError() async throws {
        try await withServer { connection in
            _ = try topology(maxDeliver: 5).ensure(on: connection)
            let error = #expect(throws: TopologyError.self) { _ = try topology(maxDeliver: 8).ensure(on: connection) }
            #expect(error?.description.contains("max_deliver is 5, expected 8") == true)
        }
    }

    @Test func aDifferentMaxAckPendingIsLeftAloneWithANote() async throws {
        try await withServer { connection in
            _ = try topology().ensure(on: connection)
            let other = StreamTopology(
                durablePrefix: "feature-pipeline", maxDeliver: 5, ackWait: .seconds(30), maxAckPending: 50, replicas: 1)
            let report = try other.ensure(on: connection)
            guard case .verifiedWithNotes(let notes) = report.consumers[0].action else {
                Issue.record("expected a note, got \(report.consumers[0].action)")
                return
            }
            #expect(notes.first?.contains("max_ack_pending is 1000") == true)
            let info = try connection.consumerInfo(stream: "SIGNALS", consumer: "feature-pipeline-signals")
            #expect(info.config.maxAckPending == 1000)
        }
    }
}
