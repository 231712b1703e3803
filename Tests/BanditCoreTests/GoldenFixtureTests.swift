import BanditCore
import Foundation
import Testing

/// The valid fixtures under `Fixtures/valid`, one or more per subject: each decodes to exactly
/// the expected event, and re-encoding it with `JSONEncoder` decodes back to the same event.
@Suite("Golden valid fixtures")
struct GoldenFixtureTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(
            Bundle.module.url(forResource: "Fixtures/valid/\(name)", withExtension: "json"), "fixture \(name)")
        return Array(try Data(contentsOf: url))
    }

    static func date(_ text: String) -> Date {
        Date(timeIntervalSince1970: TimeInterval(text)!)
    }

    static func uuid(_ text: String) -> UUID { UUID(uuidString: text)! }

    static let expected: [(file: String, subject: EventSubject, event: Event)] = [
        (
            "signals.task.synced", .taskSynced,
            .taskSynced(
                try! TaskSynced(
                    eventID: uuid("0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d01"), occurredAt: date("1777111200"),
                    userID: "user-000042", source: .prod, taskCount: 137))
        ),
        (
            "signals.tip.feedback", .tipFeedback,
            .tipFeedback(
                try! TipFeedback(
                    eventID: uuid("1c8d3a6f-9b52-4d4c-8e3f-6a7b8c9d0e12"),
                    occurredAt: Date(timeIntervalSinceReferenceDate: 798_796_890 + 0.25),
                    userID: "user-000042", source: .prod, tipID: "tip-weekly-review", action: .accepted))
        ),
        (
            "signals.decision", .decision,
            .decision(
                try! Decision(
                    eventID: uuid("2d9e4b7a-0c63-4e5d-9f4a-7b8c9d0e1f23"),
                    occurredAt: Date(timeIntervalSinceReferenceDate: 798_804_120 + 0.5),
                    userID: "user-000042", source: .synthetic,
                    decisionID: uuid("3eaf5c8b-1d74-4f6e-8a5b-8c9d0e1f2a34"), policy: "linucb_v1",
                    policyVersion: "linucb_v1@1.0.0+a3f9c2e1", armID: "tip-morning-review", propensity: 0.7,
                    features: [0.12, -0.5, 1, 0.333, 0],
                    candidates: ["tip-morning-review", "tip-weekly-review", "tip-focus-block"],
                    probabilities: [0.7, 0.2, 0.1], explored: false))
        ),
        (
            "feedback.reward", .reward,
            .reward(
                try! Reward(
                    eventID: uuid("4fb06d9c-2e85-4a7f-9b6c-9d0e1f2a3b45"), occurredAt: date("1777111500"),
                    userID: "user-000042", source: .synthetic, reward: 1,
                    target: .decision(id: uuid("3eaf5c8b-1d74-4f6e-8a5b-8c9d0e1f2a34"))))
        ),
        (
            "feedback.reward.inline", .reward,
            .reward(
                try! Reward(
                    eventID: uuid("6f1c2a9e-3b7d-4c1e-9a5f-2d8e7b6c4a10"),
                    occurredAt: Date(timeIntervalSinceReferenceDate: 798_804_000 + 0.123),
                    userID: "user-0000000042", source: .prod, reward: 0.75,
                    target: .inline(
                        policy: "linucb_v1", armID: "tip-morning-review-v2",
                        features: [0.1234567, -0.5, 1.0, 0.3333333, 0.0])))
        ),
        (
            "feedback.routing", .routing,
            .routing(
                try! RoutingOutcome(
                    eventID: uuid("5ac17e0d-3f96-4b8a-8c7d-0e1f2a3b4c56"),
                    occurredAt: Date(timeIntervalSinceReferenceDate: 798_823_799 + 0.999),
                    userID: "svc:router@eu-1", source: .shadow,
                    inferenceID: uuid("6bd28f1e-4a07-4c9b-9d8e-1f2a3b4c5d67"), taskType: .code,
                    taskTypeSource: .classifier, policyVersion: "routing_v1@1.2.0+0badc0de", model: "gpt-4o-mini",
                    provider: "openai", constraintBand: .standard, reward: 0.82, latencyMs: 812.5,
                    costUSD: 0.00042, completed: true,
                    banditUpdate: .init(policy: "routing_v1", features: [1, 0, 0, 0.25, -0.75, 0.5, 0.125, 0.001])))
        ),
        (
            "feedback.routing.minimal", .routing,
            .routing(
                try! RoutingOutcome(
                    eventID: uuid("7ce3902f-5b18-4dac-8e9f-2a3b4c5d6e78"), occurredAt: date("1777111800"),
                    userID: "user-000042", source: .prod, inferenceID: uuid("8df4a130-6c29-4ebd-9fa0-3b4c5d6e7f89"),
                    taskType: .toolUse, taskTypeSource: .default, policyVersion: "routing_v1@1.0.0+a3f9c2e1",
                    model: "claude-haiku", provider: "anthropic", constraintBand: .low, reward: 0, latencyMs: 0,
                    costUSD: 0, completed: false))
        ),
    ]

    @Test("every subject has a golden fixture")
    func everySubjectHasAFixture() {
        #expect(Set(Self.expected.map(\.subject)) == Set(EventSubject.allCases))
    }

    @Test("a golden fixture decodes to exactly the expected event", arguments: Self.expected.indices)
    func fixtureDecodes(_ index: Int) throws {
        let (file, subject, expected) = Self.expected[index]
        let body = try Self.fixture(file)
        let event = try decode(subject.rawValue, body).get()
        #expect(event == expected, "\(file)")
        #expect(event.subject == subject)
    }

    @Test("an event encoded with JSONEncoder decodes back through EventDecoder", arguments: Self.expected.indices)
    func encodedEventDecodesBack(_ index: Int) throws {
        let (_, subject, expected) = Self.expected[index]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(expected)
        let decoded = try decode(subject.rawValue, Array(data)).get()
        #expect(decoded == expected, "\(String(decoding: data, as: UTF8.self))")
    }

    @Test("the body may come as Data, [UInt8], a slice or a non-contiguous collection")
    func bodyCollections() throws {
        let bytes = try Self.fixture("feedback.reward.inline")
        let expected = try decode(EventSubject.reward.rawValue, bytes).get()
        let decoder = testDecoder
        let subject = EventSubject.reward.rawValue
        #expect(try decoder.decode(subject: subject, headers: [:], body: Data(bytes), now: testNow).get() == expected)
        #expect(try decoder.decode(subject: subject, headers: [:], body: bytes[...], now: testNow).get() == expected)
        let lazy = bytes.lazy.map { $0 }
        #expect(try decoder.decode(subject: subject, headers: [:], body: lazy, now: testNow).get() == expected)
        let raw = try bytes.withUnsafeBytes {
            try decoder.decode(subject: subject, headers: [:], body: $0, now: testNow).get()
        }
        #expect(raw == expected)
    }
}
