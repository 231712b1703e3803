import Foundation
import NATSKit
import TestSupport
import Testing

@testable import BanditTopology

/// CONTRACT section 10: SIGNALS and FEEDBACK get a max_age tied to the ledger retention.
struct StreamMaxAgeRuleTests {
    static let day: Duration = .seconds(86_400)

    func streams(maxAge: Duration) -> [StreamConfiguration] {
        StreamTopology(
            durablePrefix: "fp", maxDeliver: 5, ackWait: .seconds(30), maxAckPending: 1000, replicas: 1, maxAge: maxAge
        ).streams
    }

    @Test func sevenDaysIsTheDefaultAndFitsTheDefaultFourteenDayLedger() {
        let topology = StreamTopology(
            durablePrefix: "fp", maxDeliver: 5, ackWait: .seconds(30), maxAckPending: 1000, replicas: 1)
        #expect(
            topology.streams.filter { ["SIGNALS", "FEEDBACK"].contains($0.name) }.allSatisfy {
                $0.maxAge == Self.day * 7
            })
        // DEADLETTER keeps no age limit (an operator replays or purges it).
        #expect(topology.streams.first { $0.name == "DEADLETTER" }?.maxAge == .zero)
        #expect(StreamTopology.maxAgeProblems(of: topology.streams, ledgerRetention: Self.day * 14).isEmpty)
    }

    @Test func anUnlimitedOrTooLongMaxAgeBreaksTheLedgersPromise() {
        #expect(StreamTopology.maxAgeProblems(of: streams(maxAge: .zero), ledgerRetention: Self.day * 14).count == 2)
        #expect(
            StreamTopology.maxAgeProblems(of: streams(maxAge: Self.day * 13), ledgerRetention: Self.day * 14).isEmpty)
        let problems = StreamTopology.maxAgeProblems(
            of: streams(maxAge: Self.day * 13 + .seconds(1)), ledgerRetention: Self.day * 14)
        #expect(problems.count == 2)
        #expect(problems.first?.contains("longer than the ledger retention minus one day") == true)
    }
}

@Suite(.natsServer, .serialized)
struct StreamMaxAgeEnsureTests {
    func withConnection(_ body: @escaping @Sendable (NATSConnection) throws -> Void) async throws {
        try await onDedicatedThread {
            let server = try NATSServer.start()
            defer { server.stop() }
            let connection = try NATSConnection(options: NATSConnectionOptions(servers: [server.url]))
            defer { connection.close() }
            try body(connection)
        }
    }

    func topology(maxAge: Duration) -> StreamTopology {
        StreamTopology(
            durablePrefix: "fp", maxDeliver: 5, ackWait: .seconds(30), maxAckPending: 1000, replicas: 1, maxAge: maxAge)
    }

    @Test func upgradingStreamsWithoutMaxAgeSetsItAndLosesNoMessage() async throws {
        try await withConnection { connection in
            // A deployment of an earlier release: no max_age, some messages waiting.
            _ = try topology(maxAge: .zero).ensure(on: connection)
            for index in 0..<20 { try connection.publish(subject: "signals.x", body: Array("\(index)".utf8)) }
            let report = try topology(maxAge: .seconds(7 * 86_400)).ensure(on: connection)
            #expect(report.streams.first { $0.name == "SIGNALS" }?.action == .updated(["max_age unlimited → 604800 s"]))
            #expect(try connection.streamInfo("SIGNALS").config.maxAge == .seconds(7 * 86_400))
            #expect(try connection.streamInfo("SIGNALS").state.messages == 20)
            // And the next ensure only verifies.
            let again = try topology(maxAge: .seconds(7 * 86_400)).ensure(on: connection)
            #expect(again.streams.first { $0.name == "SIGNALS" }?.action == .verified)
        }
    }

    @Test func aMaxAgeUnderWhichAnUnsettledMessageWouldBeDroppedIsRefused() async throws {
        try await withConnection { connection in
            _ = try topology(maxAge: .zero).ensure(on: connection)
            try connection.publish(subject: "feedback.reward", body: Array("old".utf8))
            Thread.sleep(forTimeInterval: 2.2)
            #expect(throws: TopologyError.self) { try topology(maxAge: .seconds(2)).ensure(on: connection) }
            #expect(try connection.streamInfo("FEEDBACK").config.maxAge == .zero)
            #expect(try connection.streamInfo("FEEDBACK").state.messages == 1)
            // Once the consumer settled it, the limit may be set.
            let consumer = try PullConsumer(connection: connection, stream: "FEEDBACK", consumer: "fp-feedback")
            for message in try consumer.fetch(maxMessages: 10, maxWait: .seconds(1)) { try connection.ack(message) }
            try connection.flush()
            consumer.close()
            _ = try topology(maxAge: .seconds(2)).ensure(on: connection)
            #expect(try connection.streamInfo("FEEDBACK").config.maxAge == .seconds(2))
        }
    }
}
