import BanditCore
import Foundation
import Testing

@Suite("Rejections")
struct RejectionTests {
    @Test("reason codes are the contract's stable strings")
    func reasonCodes() {
        #expect(
            RejectionReason.all.map(\.rawValue) == [
                "json.invalid", "schema.invalid", "subject.unknown", "policy.unknown", "dimension.mismatch",
                "payload.too_large", "decision.already_rewarded", "decision.mismatch", "decision.duplicate",
                "data.rejected", "max_deliveries",
            ])
        #expect(Set(RejectionReason.decoderCodes).isSubset(of: Set(RejectionReason.all)))
        #expect(RejectionReason(rawValue: "json.invalid") == .jsonInvalid)
    }

    @Test("a detail names the field, what was expected and what came")
    func detailIsPrecise() throws {
        let result = decode(.decision, Sample.decision.setting("features", "[0,0,0,2e6,0]"))
        let rejection = try #require(result.failureValue)
        #expect(rejection.detail == "features[3]: expected a finite number with |x| ≤ 1e6, got 2e6")
        let unknown = try #require(decode(.decision, Sample.decision.setting("policy", "\"nope\"")).failureValue)
        #expect(unknown.reason == .policyUnknown)
        #expect(unknown.detail.hasPrefix("policy: expected a configured policy (\"linucb_v1\""))
        #expect(unknown.detail.hasSuffix("got \"nope\""))
        let syntax = try #require(decode(.taskSynced, "{\"a\":01}").failureValue)
        #expect(syntax.detail == "body: leading zero in a number (byte 5)")
        let dimension = try #require(decode(.decision, Sample.decision.setting("features", "[1]")).failureValue)
        #expect(dimension.detail == "features: expected 5 numbers (dimension of policy \"linucb_v1\"), got 1")
    }

    @Test("a detail is one header-safe line and quotes at most 40 characters of input")
    func detailIsHeaderSafe() throws {
        let long = String(repeating: "x", count: 500)
        let rejection = try #require(
            decode(.tipFeedback, Sample.tipFeedback.setting("action", "\"\(long)\\n\\r\"")).failureValue)
        #expect(rejection.detail.count < 200)
        #expect(!rejection.detail.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
        #expect(Rejection(reason: .schemaInvalid, detail: "a\nb\r\u{85}c\u{2028}").detail == "a?b??c?")
        let subject = try #require(decode("x\r\nInjected: yes", Sample.taskSynced.bytes).failureValue)
        #expect(!subject.detail.contains("\n"))
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}

@Suite("Rejection details, member by member")
struct MemberDetailTests {
    static let cases: [(EventSubject, Body?, String, String, String)] = [
        (.taskSynced, nil, "schema_version", "2", "schema_version: expected the integer 1, got 2"),
        (
            .taskSynced, nil, "event_id", "42",
            "event_id: expected a UUID in canonical form (8-4-4-4-12 hex digits), got 42"
        ),
        (
            .taskSynced, nil, "occurred_at", "\"x\"",
            "occurred_at: expected an RFC 3339 timestamp with offset, e.g. 2026-04-25T10:00:00Z, got \"x\""
        ),
        (
            .taskSynced, nil, "occurred_at", "\"2026-04-27T12:00:00Z\"",
            "occurred_at: expected a time at most 24 h after now, got \"2026-04-27T12:00:00Z\""
        ),
        (.taskSynced, nil, "user_id", "\"\"", "user_id: expected 1–128 characters of [A-Za-z0-9._:@-], got \"\""),
        (
            .taskSynced, nil, "source", "\"test\"",
            "source: expected one of \"prod\", \"synthetic\", \"shadow\", got \"test\""
        ),
        (.taskSynced, nil, "task_count", "-1", "task_count: expected an integer 0…10000000, got -1"),
        (.tipFeedback, nil, "tip_id", "7", "tip_id: expected a string of 1–128 characters, got 7"),
        (
            .tipFeedback, nil, "action", "\"x\"",
            "action: expected one of \"accepted\", \"dismissed\", \"snoozed\", \"ignored\", got \"x\""
        ),
        (
            .decision, Sample.decision.removing("probabilities"), "propensity", "2",
            "propensity: expected a number in (0, 1], got 2"
        ),
        (.decision, nil, "explored", "1", "explored: expected true or false, got 1"),
        (.decision, nil, "policy", "5", "policy: expected the name of a configured policy, got 5"),
        (
            .decision, nil, "policy_version", "\"x\"",
            "policy_version: expected {policy}@{semver}+{8 lowercase hex}, e.g. linucb_v1@1.0.0+a3f9c2e1, got \"x\""
        ),
        (
            .decision, nil, "policy_version", "\"egreedy_v1@1.0.0+a3f9c2e1\"",
            "policy_version: expected the name part to equal policy \"linucb_v1\", got \"egreedy_v1@1.0.0+a3f9c2e1\""
        ),
        (
            .decision, nil, "features", "\"x\"",
            "features: expected an array of 5 numbers (policy \"linucb_v1\"), got \"x\""
        ),
        (
            .decision, nil, "features", "[0,0,0,1e400,0]",
            "features[3]: expected a finite number with |x| ≤ 1e6, got 1e400 (beyond the range of a double)"
        ),
        (
            .decision, Sample.decision.removing("probabilities"), "candidates", "\"a\"",
            "candidates: expected an array of distinct arm ids containing arm_id, got \"a\""
        ),
        (
            .decision, Sample.decision.removing("probabilities"), "candidates", "[\"a\",\"b\",\"\\u0061\"]",
            "candidates[2]: expected distinct arm ids (a repeated candidate), got \"\\u0061\""
        ),
        (
            .decision, nil, "probabilities", "\"x\"",
            "probabilities: expected an array of 3 numbers in [0, 1], got \"x\""
        ),
        (.decision, nil, "probabilities", "[0.7,1.1,-0.8]", "probabilities[1]: expected a number in [0, 1], got 1.1"),
        (.reward, Sample.rewardDecisionForm, "reward", "1.5", "reward: expected a number in [-1, 1], got 1.5"),
        (.routing, nil, "reward", "1.5", "reward: expected a number in [0, 1], got 1.5"),
        (.routing, nil, "latency_ms", "-1", "latency_ms: expected a number ≥ 0, got -1"),
        (.routing, nil, "cost_usd", "-1", "cost_usd: expected a number ≥ 0, got -1"),
        (.routing, nil, "completed", "1", "completed: expected true or false, got 1"),
        (
            .routing, nil, "provider", String(repeating: "p", count: 65).json,
            "provider: expected a string of 1–64 characters, got 65 characters"
        ),
        (
            .routing, nil, "task_type", "\"x\"",
            "task_type: expected one of \"reasoning\", \"code\", \"extraction\", \"chat\", \"tool_use\", \"embed\", \"general\", got \"x\""
        ),
        (
            .routing, nil, "task_type_source", "\"x\"",
            "task_type_source: expected one of \"caller\", \"classifier\", \"default\", got \"x\""
        ),
        (
            .routing, nil, "constraint_band", "\"x\"",
            "constraint_band: expected one of \"low\", \"standard\", \"high\", got \"x\""
        ),
    ]

    @Test("each member's rejection says exactly what was expected and quotes the input", arguments: cases.indices)
    func exactDetail(_ index: Int) throws {
        let (subject, base, field, raw, detail) = Self.cases[index]
        let body = (base ?? Sample.body(of: subject)).setting(field, raw)
        #expect(try #require(decode(subject, body).failureValue).detail == detail)
    }
}
