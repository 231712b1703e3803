import BanditCore
import Foundation
import Testing

/// One body of `Fixtures/invalid/cases.json`: a valid sample with exactly one rule broken.
struct InvalidCase: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let subject: String
    /// `schema` (the exported JSON Schema rejects it too), `registry`, `cross-field`,
    /// `calendar`, `clock` (rules JSON Schema cannot state), `json-text` (the JSON's text).
    let level: String
    let reason: String
    /// The field path the rejection's detail starts with.
    let path: String
    let body: String

    var testDescription: String { name }

    static let all: [InvalidCase] = {
        let url = Bundle.module.url(forResource: "Fixtures/invalid/cases", withExtension: "json")!
        return try! JSONDecoder().decode([InvalidCase].self, from: Data(contentsOf: url))
    }()
}

/// Decodes with Foundation's `JSONDecoder` through the event types' `init(from:)`; a failure
/// of the JSON text itself (before any event rule ran) counts as `json.invalid`.
func decodeWithFoundation(_ subject: EventSubject, _ body: [UInt8], now: Date = testNow) -> Result<Event, Rejection> {
    let decoder = JSONDecoder()
    decoder.userInfo[.policyRegistry] = PolicyRegistry.defaults
    decoder.userInfo[.eventClock] = now
    do {
        let data = Data(body)
        switch subject {
        case .taskSynced: return .success(.taskSynced(try decoder.decode(TaskSynced.self, from: data)))
        case .tipFeedback: return .success(.tipFeedback(try decoder.decode(TipFeedback.self, from: data)))
        case .decision: return .success(.decision(try decoder.decode(Decision.self, from: data)))
        case .reward: return .success(.reward(try decoder.decode(Reward.self, from: data)))
        case .routing: return .success(.routing(try decoder.decode(RoutingOutcome.self, from: data)))
        }
    } catch let rejection as Rejection {
        return .failure(rejection)
    } catch {
        return .failure(Rejection(reason: .jsonInvalid, detail: "body: \(error)"))
    }
}

@Suite("Codable: the strict decoder, JSONDecoder and the memberwise initialisers agree")
struct CodableTests {
    @Test("the invalid corpus covers every subject and every level")
    func corpusCoversEverything() {
        #expect(Set(InvalidCase.all.map(\.subject)) == Set(EventSubject.allCases.map(\.rawValue)))
        #expect(
            Set(InvalidCase.all.map(\.level)) == [
                "schema", "registry", "cross-field", "calendar", "clock", "json-text",
            ])
        #expect(InvalidCase.all.count >= 150)
    }

    @Test(
        "EventDecoder rejects every case of the invalid corpus with its reason, naming its path",
        arguments: InvalidCase.all)
    func strictVerdict(_ invalid: InvalidCase) {
        expectRejection(
            decode(invalid.subject, Array(invalid.body.utf8)), RejectionReason(rawValue: invalid.reason),
            detailPrefix: invalid.path)
    }

    @Test(
        "JSONDecoder gives the strict decoder's verdict for every rule that is not about the JSON text",
        arguments: InvalidCase.all.filter { $0.level != "json-text" })
    func foundationVerdict(_ invalid: InvalidCase) throws {
        let subject = try #require(EventSubject(rawValue: invalid.subject))
        let foundation = decodeWithFoundation(subject, Array(invalid.body.utf8))
        let strict = decode(invalid.subject, Array(invalid.body.utf8))
        #expect(foundation.failureValue?.reason == strict.failureValue?.reason, "\(foundation)")
        #expect(foundation.failureValue?.detail.hasPrefix(invalid.path) == true, "\(foundation)")
    }

    @Test(
        "JSONDecoder decodes every golden fixture to the strict decoder's event",
        arguments: GoldenFixtureTests.expected.indices)
    func foundationDecodesFixtures(_ index: Int) throws {
        let (file, subject, expected) = GoldenFixtureTests.expected[index]
        let body = try GoldenFixtureTests.fixture(file)
        #expect(try decodeWithFoundation(subject, body).get() == expected)
        #expect(try decode(subject.rawValue, body).get() == expected)
    }

    @Test("the sample bodies decode the same through JSONDecoder, each field's absence and null too")
    func foundationAgreesOnSamples() throws {
        for (subject, body) in Sample.all {
            #expect(try decodeWithFoundation(subject, body.bytes).get() == decode(subject, body).get())
            for member in body.members {
                for variant in [body.setting(member.name, nil), body.setting(member.name, "null")] {
                    let strict = decode(subject, variant)
                    let foundation = decodeWithFoundation(subject, variant.bytes)
                    #expect(strict.failureValue?.reason == foundation.failureValue?.reason, "\(variant)")
                    #expect((try? strict.get()) == (try? foundation.get()), "\(variant)")
                }
            }
        }
    }

    @Test("JSONDecoder needs the policy registry in userInfo for a payload that names a policy")
    func registryIsRequired() {
        let decoder = JSONDecoder()
        #expect(throws: DecodingError.self) {
            _ = try decoder.decode(Reward.self, from: Data(Sample.rewardInlineForm.bytes))
        }
        // A payload without a policy needs none.
        #expect(throws: Never.self) {
            _ = try decoder.decode(Reward.self, from: Data(Sample.rewardDecisionForm.bytes))
        }
    }

    @Test("the clock comes from userInfo: the same body is too far ahead for one clock and fine for a later one")
    func clockFromUserInfo() {
        let body = Sample.taskSynced.setting("occurred_at", "\"2026-04-27T12:00:00Z\"").bytes
        #expect(decodeWithFoundation(.taskSynced, body).failureValue?.reason == .schemaInvalid)
        #expect(throws: Never.self) {
            _ = try decodeWithFoundation(.taskSynced, body, now: testNow.addingTimeInterval(3 * 86_400)).get()
        }
    }

    @Test("Event(subject:from:) decodes a payload with any Decoder")
    func eventFromDecoder() throws {
        struct Wrapper: Decodable {
            let event: Event
            init(from decoder: any Decoder) throws {
                event = try Event(subject: .tipFeedback, from: decoder)
            }
        }
        let decoder = JSONDecoder()
        decoder.userInfo[.eventClock] = testNow
        let event = try decoder.decode(Wrapper.self, from: Data(Sample.tipFeedback.bytes)).event
        #expect(event == (try decode(.tipFeedback, Sample.tipFeedback).get()))
    }

    // MARK: Memberwise initialisers

    @Test("a memberwise initialiser throws the decoder's rejection for an invalid event")
    func initialisersValidate() throws {
        let id = UUID(uuidString: "0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d01")!
        let at = Date(timeIntervalSince1970: 1_777_111_200)
        #expect(throws: Rejection(reason: .schemaInvalid, detail: "reward: expected a number in [-1, 1], got 1.5")) {
            _ = try Reward(eventID: id, occurredAt: at, userID: "u", reward: 1.5, target: .decision(id: id))
        }
        #expect(
            throws: Rejection(
                reason: .schemaInvalid, detail: "user_id: expected 1–128 characters of [A-Za-z0-9._:@-], got \"u 1\"")
        ) {
            _ = try TaskSynced(eventID: id, occurredAt: at, userID: "u 1", taskCount: 1)
        }
        #expect(throws: Rejection(reason: .schemaInvalid, detail: "task_count: expected an integer 0…10000000, got -1"))
        {
            _ = try TaskSynced(eventID: id, occurredAt: at, userID: "u", taskCount: -1)
        }
        #expect(
            throws: Rejection(
                reason: .schemaInvalid, detail: "tip_id: expected a string of 1–128 characters, got 0 characters")
        ) {
            _ = try TipFeedback(eventID: id, occurredAt: at, userID: "u", tipID: "", action: .accepted)
        }
        #expect(
            throws: Rejection(
                reason: .policyUnknown,
                detail:
                    "policy: expected a configured policy (\"linucb_v1\", \"egreedy_v1\", \"egreedy_v2\", \"routing_v1\"), got \"nope\""
            )
        ) {
            _ = try Reward(
                eventID: id, occurredAt: at, userID: "u", reward: 1,
                target: .inline(policy: "nope", armID: "a", features: [0, 0, 0, 0, 0]))
        }
        #expect(
            throws: Rejection(
                reason: .dimensionMismatch,
                detail: "features: expected 5 numbers (dimension of policy \"linucb_v1\"), got 2")
        ) {
            _ = try Reward(
                eventID: id, occurredAt: at, userID: "u", reward: 1,
                target: .inline(policy: "linucb_v1", armID: "a", features: [0, 0]))
        }
        #expect(
            throws: Rejection(reason: .schemaInvalid, detail: "probabilities: expected a sum of 1 (±1e-6), got 0.9")
        ) {
            _ = try Decision(
                eventID: id, occurredAt: at, userID: "u", decisionID: id, policy: "linucb_v1",
                policyVersion: "linucb_v1@1.0.0+a3f9c2e1", armID: "a", propensity: 0.5, features: [0, 0, 0, 0, 0],
                candidates: ["a", "b"], probabilities: [0.5, 0.4])
        }
        #expect(
            throws: Rejection(
                reason: .dimensionMismatch,
                detail: "features: expected 8 numbers (dimension of policy \"routing_v1\"), got 0")
        ) {
            _ = try RoutingOutcome(
                eventID: id, occurredAt: at, userID: "u", inferenceID: id, taskType: .code, taskTypeSource: .caller,
                policyVersion: "routing_v1@1.0.0+a3f9c2e1", model: "m", provider: "p", constraintBand: .low,
                reward: 0.5, latencyMs: 1, costUSD: 0, completed: true,
                banditUpdate: .init(policy: "routing_v1", features: []))
        }
        #expect(throws: Rejection(reason: .schemaInvalid, detail: "latency_ms: expected a finite number, got nan")) {
            _ = try RoutingOutcome(
                eventID: id, occurredAt: at, userID: "u", inferenceID: id, taskType: .code, taskTypeSource: .caller,
                policyVersion: "routing_v1@1.0.0+a3f9c2e1", model: "m", provider: "p", constraintBand: .low,
                reward: 0.5, latencyMs: .nan, costUSD: 0, completed: true)
        }
    }

    @Test("a memberwise initialiser checks policies against the registry it is given")
    func initialiserRegistry() throws {
        let id = UUID()
        let wide = try PolicyRegistry([PolicyDefinition(name: "wide", algorithm: .linucb, dimension: 2)])
        let reward = try Reward(
            eventID: id, occurredAt: Date(), userID: "u", reward: 1,
            target: .inline(policy: "wide", armID: "a", features: [0, 1]), policies: wide)
        #expect(reward.target == .inline(policy: "wide", armID: "a", features: [0, 1]))
    }

    @Test("the occurred_at clock rule is the receiver's: an initialiser accepts a time days ahead")
    func initialiserLeavesTheClock() throws {
        let later = Date().addingTimeInterval(10 * 86_400)
        let event = try TaskSynced(eventID: UUID(), occurredAt: later, userID: "u", taskCount: 1)
        #expect(event.occurredAt == later)
    }
}
