import BanditCore
import Foundation
import Testing

/// The members of each subject (CONTRACT section 2), one test per rule.
@Suite("Subject rules")
struct SubjectRuleTests {
    // MARK: Required members

    static let requiredMembers: [(EventSubject, Body, [String])] = [
        (.taskSynced, Sample.taskSynced, ["task_count"]),
        (.tipFeedback, Sample.tipFeedback, ["tip_id", "action"]),
        (.decision, Sample.decision, ["decision_id", "policy", "policy_version", "arm_id", "propensity", "features"]),
        (.reward, Sample.rewardDecisionForm, ["reward"]),
        (.reward, Sample.rewardInlineForm, ["reward"]),
        (
            .routing, Sample.routing,
            [
                "inference_id", "task_type", "task_type_source", "policy_version", "model", "provider",
                "constraint_band", "reward", "latency_ms", "cost_usd", "completed",
            ]
        ),
    ]

    @Test("every required member of every subject must be present", arguments: requiredMembers.indices)
    func requiredMembersArePresent(_ index: Int) {
        let (subject, body, fields) = Self.requiredMembers[index]
        expectEvent(decode(subject, body))
        for field in fields {
            check(subject, field, .absent, base: body, detailPrefix: "\(field): required field is missing")
        }
    }

    @Test("an optional member given as null is rejected (absent and null differ)")
    func optionalNullIsRejected() {
        check(.taskSynced, "source", .bad("null"))
        check(.decision, "candidates", .bad("null"))
        check(.decision, "probabilities", .bad("null"))
        check(.decision, "explored", .bad("null"))
        check(.routing, "policy", .bad("null"))
        check(.routing, "features", .bad("null"))
        check(.reward, "decision_id", .bad("null"), base: Sample.rewardDecisionForm)
        // Absent is fine.
        for field in ["candidates", "probabilities", "explored"] {
            check(.decision, field, .absentIsFine, base: Sample.decision.removing("probabilities"))
        }
        expectEvent(decode(.routing, Sample.routing.removing("policy", "features")))
    }

    // MARK: signals.task.synced

    @Test(
        "task_count is a JSON integer 0…10,000,000",
        arguments: [
            FieldCase.ok("0"), .ok("10000000"), .ok("-0"), .bad("-1"), .bad("10000001"), .bad("1.0"), .bad("1e3"),
            .bad("5.5"), .bad("\"5\""), .bad("99999999999999999999"), .bad("null"), .bad("true"),
        ])
    func taskCount(_ fieldCase: FieldCase) {
        check(.taskSynced, "task_count", fieldCase)
    }

    // MARK: signals.tip.feedback

    @Test(
        "tip_id is a string of 1–128 characters",
        arguments: [
            FieldCase.ok("\"t\""), .ok(String(repeating: "t", count: 128).json), .ok("\"tip with spaces / ünïcode\""),
            .bad("\"\""), .bad(String(repeating: "t", count: 129).json), .bad("7"), .bad("null"),
            .bad("\"nul\\u0000inside\""),
        ])
    func tipID(_ fieldCase: FieldCase) {
        check(.tipFeedback, "tip_id", fieldCase)
    }

    @Test(
        "action is accepted, dismissed, snoozed or ignored",
        arguments: [
            FieldCase.ok("\"accepted\""), .ok("\"dismissed\""), .ok("\"snoozed\""), .ok("\"ignored\""),
            .bad("\"Accepted\""), .bad("\"rejected\""), .bad("\"\""), .bad("1"), .bad("null"),
        ])
    func tipAction(_ fieldCase: FieldCase) {
        check(.tipFeedback, "action", fieldCase)
    }

    // MARK: String length

    @Test("string lengths count Unicode scalars, not bytes and not grapheme clusters")
    func stringLengthCountsUnicodeScalars() throws {
        let composed = String(repeating: "é", count: 128)  // 128 scalars, 256 bytes
        check(.tipFeedback, "tip_id", .ok(composed.json))
        check(.tipFeedback, "tip_id", .bad((composed + "é").json))
        let emoji = String(repeating: "🧪", count: 128)  // 128 scalars, 512 bytes
        check(.tipFeedback, "tip_id", .ok(emoji.json))
        // "e" + U+0301 is one Character but two scalars: 64 fit, 65 do not.
        let decomposed = String(repeating: "e\u{301}", count: 64)
        #expect(decomposed.count == 64 && decomposed.unicodeScalars.count == 128)
        check(.tipFeedback, "tip_id", .ok(decomposed.json))
        check(.tipFeedback, "tip_id", .bad((decomposed + "e\u{301}").json))
        // An escape counts as the one character it stands for.
        check(.tipFeedback, "tip_id", .ok(String(repeating: "\\u00e9", count: 128).json))
        check(.tipFeedback, "tip_id", .ok(String(repeating: "\\ud83e\\uddea", count: 128).json))
        check(.routing, "provider", .ok(String(repeating: "é", count: 64).json))
        check(.routing, "provider", .bad(String(repeating: "é", count: 65).json))
        let event = try decode(.tipFeedback, Sample.tipFeedback.setting("tip_id", "\"a\\u00e9\\ud83e\\uddea\\n\""))
            .get()
        let tip = try #require(event.tipFeedback, "expected a tipFeedback event, got \(event)")
        #expect(tip.tipID == "aé🧪\n")
    }

    // MARK: signals.decision

    @Test("decision_id is a canonical UUID", arguments: [FieldCase.bad("\"not-a-uuid\""), .bad("1"), .absent])
    func decisionID(_ fieldCase: FieldCase) {
        check(.decision, "decision_id", fieldCase)
    }

    @Test(
        "policy_version is {name}@{semver}+{8 lowercase hex}",
        arguments: [
            FieldCase.ok("\"linucb_v1@1.0.0+a3f9c2e1\""), .ok("\"linucb_v1@10.20.30+00000000\""),
            .ok("\"linucb_v1@1.0.0-rc.1+a3f9c2e1\""), .ok("\"linucb_v1@1.0.0-alpha-2.0a+a3f9c2e1\""),
            .bad("\"linucb_v1@1.0.0+A3F9C2E1\""), .bad("\"linucb_v1@1.0.0+a3f9c2e\""),
            .bad("\"linucb_v1@1.0.0+a3f9c2e12\""), .bad("\"linucb_v1@1.0.0+a3f9c2eg\""), .bad("\"linucb_v1@1.0.0\""),
            .bad("\"linucb_v1@1.0+a3f9c2e1\""), .bad("\"linucb_v1@01.0.0+a3f9c2e1\""),
            .bad("\"linucb_v1@1.0.0-01+a3f9c2e1\""), .bad("\"linucb_v1@1.0.0-+a3f9c2e1\""),
            .bad("\"linucb_v1@v1.0.0+a3f9c2e1\""), .bad("\"linucb_v1-1.0.0+a3f9c2e1\""), .bad("\"@1.0.0+a3f9c2e1\""),
            .bad("\"linucb_v1@1.0.0+a3f9c2e1.x\""), .bad("\"\""), .bad("1"), .bad("null"),
        ])
    func policyVersionForm(_ fieldCase: FieldCase) {
        check(.decision, "policy_version", fieldCase)
        check(.routing, "policy_version", fieldCase)
    }

    @Test("on signals.decision the name part of policy_version must equal policy")
    func policyVersionNameMatchesPolicy() {
        check(.decision, "policy_version", .bad("\"egreedy_v1@1.0.0+a3f9c2e1\""))
        check(.decision, "policy_version", .bad("\"linucb_v2@1.0.0+a3f9c2e1\""))
        check(.decision, "policy_version", .bad("\"LINUCB_V1@1.0.0+a3f9c2e1\""))
        // The semver need not equal the configured version (older decisions stay valid).
        check(.decision, "policy_version", .ok("\"linucb_v1@7.3.1+a3f9c2e1\""))
    }

    @Test("on feedback.routing policy_version names the routing policy and is checked only for its form")
    func routingPolicyVersionIsFormOnly() {
        check(.routing, "policy_version", .ok("\"any_router@2.0.0+deadbeef\""))
        check(
            .routing, "policy_version", .ok("\"any_router@2.0.0+deadbeef\""),
            base: Sample.routing.removing("policy", "features"))
    }

    @Test(
        "arm_id is a string of 1–128 characters",
        arguments: [
            FieldCase.ok(String(repeating: "a", count: 128).json), .bad(String(repeating: "a", count: 129).json),
            .bad("\"\""), .bad("1"),
        ])
    func armID(_ fieldCase: FieldCase) {
        let base = Sample.decision.removing("candidates", "probabilities")
        check(.decision, "arm_id", fieldCase, base: base)
        check(.reward, "arm_id", fieldCase, base: Sample.rewardInlineForm)
    }

    @Test(
        "propensity is in (0, 1]",
        arguments: [
            FieldCase.ok("1"), .ok("1e-9"), .ok("0.5"), .ok("5e-324"), .bad("0"), .bad("-0"), .bad("-0.5"),
            .bad("1.0000001"), .bad("2"), .bad("\"0.5\""), .bad("1e400"), .bad("null"),
        ])
    func propensity(_ fieldCase: FieldCase) {
        check(.decision, "propensity", fieldCase, base: Sample.decision.removing("probabilities"))
    }

    @Test("candidates is an array of distinct arm ids containing arm_id")
    func candidates() {
        let base = Sample.decision.removing("probabilities")
        check(.decision, "candidates", .ok("[\"a\"]"), base: base)
        check(.decision, "candidates", .ok("[\"b\",\"c\",\"a\"]"), base: base)
        check(.decision, "candidates", .bad("[\"b\",\"c\"]"), base: base)
        check(.decision, "candidates", .bad("[]"), base: base)
        check(.decision, "candidates", .bad("[\"a\",\"b\",\"a\"]"), base: base)
        check(.decision, "candidates", .bad("[\"a\",\"\"]"), base: base)
        check(.decision, "candidates", .bad("[\"a\",1]"), base: base)
        check(.decision, "candidates", .bad("[\"a\",null]"), base: base)
        check(.decision, "candidates", .bad("\"a\""), base: base)
        check(.decision, "candidates", .bad("[\"a\",\(String(repeating: "b", count: 129).json)]"), base: base)
    }

    @Test("probabilities: only with candidates, same length, each in [0, 1], sum 1 ± 1e-6, chosen = propensity ± 1e-6")
    func probabilities() {
        check(.decision, "probabilities", .ok("[0.7,0.2,0.1]"))
        check(.decision, "probabilities", .ok("[0.7000005,0.2,0.0999995]"))
        check(.decision, "probabilities", .ok("[0.7,0.3,0]"))
        check(.decision, "probabilities", .bad("[0.7,0.3]"))
        check(.decision, "probabilities", .bad("[0.7,0.2,0.1,0]"))
        check(.decision, "probabilities", .bad("[0.7,0.2,0.2]"))
        check(.decision, "probabilities", .bad("[0.7,0.2,0.09]"))
        check(.decision, "probabilities", .bad("[0.7,-0.1,0.4]"))
        check(.decision, "probabilities", .bad("[0.7,1.1,-0.8]"))
        check(.decision, "probabilities", .bad("[0.6,0.3,0.1]"))
        check(.decision, "probabilities", .bad("[0.7,\"0.2\",0.1]"))
        check(.decision, "probabilities", .bad("{\"a\":0.7}"))
        check(
            .decision, "probabilities", .bad("[0.7,0.2,0.1]"), base: Sample.decision.removing("candidates"),
            detailPrefix: "probabilities: only allowed together with candidates")
    }

    @Test(
        "explored is a boolean",
        arguments: [FieldCase.ok("true"), .ok("false"), .bad("\"true\""), .bad("1"), .bad("null")])
    func explored(_ fieldCase: FieldCase) {
        check(.decision, "explored", fieldCase)
    }

    // MARK: Policies and features

    @Test("policy.unknown: policy must name a configured policy, on every subject that carries one")
    func unknownPolicy() {
        for (subject, base) in [
            (EventSubject.decision, Sample.decision), (.reward, Sample.rewardInlineForm), (.routing, Sample.routing),
        ] {
            check(subject, "policy", .bad("\"linucb_v9\"", .policyUnknown), base: base)
            check(subject, "policy", .bad("\"LINUCB_V1\"", .policyUnknown), base: base)
            check(subject, "policy", .bad("\"\"", .policyUnknown), base: base)
            check(subject, "policy", .bad("5"), base: base)
            check(subject, "policy", .bad("[\"linucb_v1\"]"), base: base)
        }
        // A registry without the policy rejects what the defaults accept.
        let onlyRouting = EventDecoder(
            policies: try! PolicyRegistry([PolicyDefinition(name: "routing_v1", algorithm: .linucb, dimension: 8)]))
        expectRejection(decode("signals.decision", Sample.decision.bytes, decoder: onlyRouting), .policyUnknown)
        expectEvent(decode("feedback.routing", Sample.routing.bytes, decoder: onlyRouting))
    }

    @Test("dimension.mismatch: features must have exactly the policy's dimension")
    func featuresDimension() {
        check(.decision, "features", .bad("[1,2,3,4]", .dimensionMismatch))
        check(.decision, "features", .bad("[1,2,3,4,5,6]", .dimensionMismatch))
        check(.decision, "features", .bad("[]", .dimensionMismatch))
        check(.reward, "features", .bad("[0,0,0,0,0,0,0]", .dimensionMismatch), base: Sample.rewardInlineForm)
        check(.routing, "features", .bad("[0,0,0,0,0]", .dimensionMismatch))
        // The same vector is right for one policy and wrong for another.
        let seven = "[0,0,0,0,0,0,0]"
        let egreedy = Sample.rewardInlineForm.setting("policy", "\"egreedy_v1\"").setting("features", seven)
        expectEvent(decode(.reward, egreedy))
        expectRejection(
            decode(.reward, egreedy.setting("policy", "\"egreedy_v2\"")), .dimensionMismatch,
            detailPrefix: "features: expected 12 numbers")
        // The length is checked before the elements.
        check(.decision, "features", .bad("[\"x\",2,3,4]", .dimensionMismatch))
    }

    @Test("features of any length up to 64 dimensions, in any number syntax, decode exactly")
    func featureVectorsDecodeExactly() throws {
        let wide = try PolicyRegistry([PolicyDefinition(name: "wide", algorithm: .linucb, dimension: 64)])
        let decoder = EventDecoder(policies: wide)
        var random = SplitMix64(seed: 3)
        let texts = (0..<64).map { index -> String in
            let value = Double(bitPattern: random.next() % 0x3FF0_0000_0000_0000) * (index % 2 == 0 ? 1 : -1)
            return index % 3 == 0 ? "\(value)" : String(format: index % 3 == 1 ? "%.17g" : "%.25e", value)
        }
        let body = Sample.rewardInlineForm.setting("policy", "\"wide\"")
            .setting("features", "[ " + texts.joined(separator: " ,\n") + " ]")
        let event = try decode("feedback.reward", body.bytes, decoder: decoder).get()
        guard case .reward(let reward) = event, case .inline(_, _, let features) = reward.target else {
            Issue.record("not an inline reward")
            return
        }
        #expect(features.map(\.bitPattern) == texts.map { Double($0)!.bitPattern })
        // One more than the policy's dimension, and far more than any policy can have.
        let tooMany = body.setting("features", "[" + Array(repeating: "0", count: 65).joined(separator: ",") + "]")
        expectRejection(decode("feedback.reward", tooMany.bytes, decoder: decoder), .dimensionMismatch)
        let wayTooMany = body.setting("features", "[" + Array(repeating: "1", count: 5000).joined(separator: ",") + "]")
        expectRejection(decode("feedback.reward", wayTooMany.bytes, decoder: decoder), .dimensionMismatch)
    }

    @Test(
        "every feature is a finite number with |x| ≤ 1e6",
        arguments: [
            FieldCase.ok("[1e6,-1e6,0,-0,5e-324]"), .ok("[1000000.0,0.1,0.2,0.3,1E+2]"),
            .bad("[1000000.1,0,0,0,0]"), .bad("[0,0,0,0,-1e7]"), .bad("[1e400,0,0,0,0]"),
            .bad("[0,-1e400,0,0,0]"), .bad("[0,0,\"1\",0,0]"), .bad("[0,0,null,0,0]"), .bad("[0,0,[1],0,0]"),
            .bad("[0,0,true,0,0]"), .bad("{\"0\":1}"), .bad("\"0,0,0,0,0\""), .bad("null"),
        ])
    func featureValues(_ fieldCase: FieldCase) {
        check(.decision, "features", fieldCase)
        check(.reward, "features", fieldCase, base: Sample.rewardInlineForm)
    }

    @Test("a number too large for a Double is rejected, not turned into infinity")
    func numbersMustBeFinite() {
        check(.reward, "reward", .bad("1e309"), base: Sample.rewardDecisionForm)
        check(.routing, "latency_ms", .bad("1e309"))
        check(.routing, "cost_usd", .bad(String(repeating: "9", count: 400)))
        check(.routing, "latency_ms", .ok("1.7976931348623157e308"))
        // Tiny numbers round to zero, which is finite.
        check(.routing, "latency_ms", .ok("1e-400"))
    }

    // MARK: feedback.reward

    @Test(
        "reward on feedback.reward is a number in [-1, 1]",
        arguments: [
            FieldCase.ok("-1"), .ok("1"), .ok("0"), .ok("-0.25"), .ok("1.0"), .ok("1e0"), .ok("-1E-0"),
            .bad("-1.0000001"), .bad("1.5"), .bad("\"1\""), .bad("true"), .bad("null"), .bad("1e999"),
        ])
    func rewardRange(_ fieldCase: FieldCase) {
        check(.reward, "reward", fieldCase, base: Sample.rewardDecisionForm)
        check(.reward, "reward", fieldCase, base: Sample.rewardInlineForm)
    }

    @Test("feedback.reward has exactly one form: decision_id alone, or policy + arm_id + features")
    func rewardForms() throws {
        let decisionForm = try decode(.reward, Sample.rewardDecisionForm).get()
        let reward = try #require(decisionForm.reward, "expected a reward event, got \(decisionForm)")
        #expect(reward.target == .decision(id: UUID(uuidString: "3eaf5c8b-1d74-4f6e-8a5b-8c9d0e1f2a34")!))
        let inline = try decode(.reward, Sample.rewardInlineForm).get()
        let inlineReward = try #require(inline.reward, "expected a reward event, got \(inline)")
        #expect(
            inlineReward.target
                == .inline(policy: "linucb_v1", armID: "tip-morning-review", features: [0.12, -0.5, 1, 0.333, 0]))

        let decisionID = "\"3eaf5c8b-1d74-4f6e-8a5b-8c9d0e1f2a34\""
        // A mix of the forms.
        for extra in ["policy", "arm_id", "features"] {
            let mixed = Sample.rewardDecisionForm.setting(
                extra, Sample.rewardInlineForm.members.first { $0.name == extra }!.raw)
            expectRejection(decode(.reward, mixed), .schemaInvalid, detailPrefix: "body: expected decision_id alone")
        }
        expectRejection(
            decode(.reward, Sample.rewardInlineForm.setting("decision_id", decisionID)), .schemaInvalid,
            detailPrefix: "body")
        // An incomplete inline form.
        for missing in ["policy", "arm_id", "features"] {
            expectRejection(
                decode(.reward, Sample.rewardInlineForm.removing(missing)), .schemaInvalid,
                detailPrefix: "body: the inline form needs policy, arm_id and features, got no \(missing)")
        }
        // Neither form.
        expectRejection(
            decode(.reward, Sample.rewardDecisionForm.removing("decision_id")), .schemaInvalid,
            detailPrefix: "body: expected decision_id, or policy + arm_id + features")
        // decision_id must be a UUID.
        check(.reward, "decision_id", .bad("\"x\""), base: Sample.rewardDecisionForm)
    }

    // MARK: feedback.routing

    @Test("inference_id is a canonical UUID", arguments: [FieldCase.bad("\"nope\""), .bad("1"), .absent])
    func inferenceID(_ fieldCase: FieldCase) {
        check(.routing, "inference_id", fieldCase)
    }

    @Test("task_type is one of the seven task types")
    func taskType() {
        for type in ["reasoning", "code", "extraction", "chat", "tool_use", "embed", "general"] {
            check(.routing, "task_type", .ok(type.json))
        }
        for bad in ["\"Code\"", "\"tool-use\"", "\"toolUse\"", "\"\"", "1", "null"] {
            check(.routing, "task_type", .bad(bad))
        }
    }

    @Test("task_type_source is caller, classifier or default")
    func taskTypeSource() {
        for value in ["caller", "classifier", "default"] { check(.routing, "task_type_source", .ok(value.json)) }
        for bad in ["\"user\"", "\"Default\"", "null", "0"] { check(.routing, "task_type_source", .bad(bad)) }
    }

    @Test("constraint_band is low, standard or high")
    func constraintBand() {
        for value in ["low", "standard", "high"] { check(.routing, "constraint_band", .ok(value.json)) }
        for bad in ["\"medium\"", "\"LOW\"", "null", "1"] { check(.routing, "constraint_band", .bad(bad)) }
    }

    @Test("model is 1–128 characters, provider 1–64")
    func modelAndProvider() {
        check(.routing, "model", .ok(String(repeating: "m", count: 128).json))
        check(.routing, "model", .bad(String(repeating: "m", count: 129).json))
        check(.routing, "model", .bad("\"\""))
        check(.routing, "model", .bad("3"))
        check(.routing, "provider", .ok(String(repeating: "p", count: 64).json))
        check(.routing, "provider", .bad(String(repeating: "p", count: 65).json))
        check(.routing, "provider", .bad("\"\""))
    }

    @Test(
        "reward on feedback.routing is a quality in [0, 1]",
        arguments: [
            FieldCase.ok("0"), .ok("1"), .ok("0.5"), .bad("-0.01"), .bad("1.01"), .bad("-1"), .bad("\"0.5\""),
        ])
    func routingReward(_ fieldCase: FieldCase) {
        check(.routing, "reward", fieldCase)
    }

    @Test("latency_ms and cost_usd are numbers ≥ 0")
    func latencyAndCost() {
        for field in ["latency_ms", "cost_usd"] {
            check(.routing, field, .ok("0"))
            check(.routing, field, .ok("123456789.5"))
            check(.routing, field, .ok("-0"))
            check(.routing, field, .bad("-0.001"))
            check(.routing, field, .bad("\"1\""))
            check(.routing, field, .bad("null"))
        }
    }

    @Test("completed is a boolean", arguments: [FieldCase.ok("false"), .bad("\"true\""), .bad("1"), .bad("null")])
    func completed(_ fieldCase: FieldCase) {
        check(.routing, "completed", fieldCase)
    }

    @Test("on feedback.routing policy and features come both or neither")
    func routingPolicyAndFeaturesTogether() throws {
        let without = try decode(.routing, Sample.routing.removing("policy", "features")).get()
        let outcome = try #require(without.routing, "expected a routing event, got \(without)")
        #expect(outcome.banditUpdate == nil)
        expectRejection(decode(.routing, Sample.routing.removing("policy")), .schemaInvalid, detailPrefix: "policy")
        expectRejection(
            decode(.routing, Sample.routing.removing("features")), .schemaInvalid, detailPrefix: "features")
        let with = try decode(.routing, Sample.routing).get()
        let updating = try #require(with.routing, "expected a routing event, got \(with)")
        #expect(updating.banditUpdate?.policy == "routing_v1")
        #expect(updating.banditUpdate?.features.count == 8)
    }
}
