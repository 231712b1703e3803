import BanditCore
import Foundation
import Testing

@Suite("Derived values")
struct DerivedValueTests {
    @Test("cell is {task_type}|{model}|{constraint_band}")
    func cell() throws {
        let event = try decode(.routing, Sample.routing).get()
        let outcome = try #require(event.routing, "expected a routing event, got \(event)")
        #expect(outcome.cell == "code|gpt-4o-mini|standard")
        let other = try RoutingOutcome(
            eventID: outcome.eventID, occurredAt: outcome.occurredAt, userID: outcome.userID,
            inferenceID: outcome.inferenceID, taskType: .toolUse, taskTypeSource: outcome.taskTypeSource,
            policyVersion: outcome.policyVersion, model: "a|b", provider: outcome.provider, constraintBand: .high,
            reward: outcome.reward, latencyMs: outcome.latencyMs, costUSD: outcome.costUSD,
            completed: outcome.completed)
        #expect(other.cell == "tool_use|a|b|high")
    }

    @Test("tier 1 is reasoning, code, extraction, chat; tier 2 the rest")
    func tiers() {
        #expect(TaskType.allCases.filter { $0.tier == .tier1 } == [.reasoning, .code, .extraction, .chat])
        #expect(TaskType.allCases.filter { $0.tier == .tier2 } == [.toolUse, .embed, .general])
        #expect(TaskTier.tier1.rawValue == 1 && TaskTier.tier2.rawValue == 2)
    }

    @Test("Event exposes subject and the common envelope")
    func envelope() throws {
        for (subject, body) in Sample.all {
            let event = try decode(subject, body).get()
            #expect(event.subject == subject)
            #expect(event.eventID == UUID(uuidString: "0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d01"))
            #expect(event.userID == "user-000042")
            #expect(event.occurredAt == Date(timeIntervalSince1970: 1_777_111_200))
            #expect(event.source == .prod)
            #expect(type(of: event.payload).subject == subject)
        }
    }
}
