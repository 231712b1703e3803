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
                "payload.too_large", "decision.already_rewarded", "decision.mismatch", "max_deliveries",
            ])
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
