import Foundation

/// A JSON string literal for `text` (quotes, backslashes and control characters escaped).
func jsonQuoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if scalar.value < 0x20 {
                out += String(format: "\\u%04x", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// Valid bodies, one per subject, and the malformed-message corpus built from them.
enum HostileCorpus {
    struct Case: Sendable {
        let name: String
        let subject: String
        let body: [UInt8]
        let reason: String
    }

    static func now(offset: TimeInterval = 0) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date().addingTimeInterval(offset))
    }

    static func envelope(user: String = "hostile-user", id: UUID = UUID(), extra: String = "") -> String {
        "\"event_id\":\"\(id.uuidString.lowercased())\",\"schema_version\":1,\"occurred_at\":\"\(now())\","
            + "\"user_id\":\(jsonQuoted(user))\(extra)"
    }

    static func taskSynced(user: String = "hostile-user", count: String = "7") -> String {
        "{\(envelope(user: user)),\"source\":\"prod\",\"task_count\":\(count)}"
    }

    static func inlineReward(user: String = "hostile-user", arm: String = "arm-1", reward: String = "0.5") -> String {
        "{\(envelope(user: user)),\"source\":\"prod\",\"reward\":\(reward),\"policy\":\"linucb_v1\","
            + "\"arm_id\":\(jsonQuoted(arm)),\"features\":[0.1,-0.2,0.3,0.4,0.5]}"
    }

    static func tip(user: String = "hostile-user", tip: String = "tip-1", action: String = "accepted") -> String {
        "{\(envelope(user: user)),\"tip_id\":\(jsonQuoted(tip)),\"action\":\(jsonQuoted(action))}"
    }

    static func decision(
        user: String = "hostile-user", decisionID: UUID = UUID(), arm: String = "arm-1", other: String = "arm-2",
        policyVersion: String = "linucb_v1@1.0.0+a3f9c2e1", propensity: String = "0.5",
        probabilities: String = "[0.5,0.5]"
    ) -> String {
        "{\(envelope(user: user)),\"source\":\"prod\",\"decision_id\":\"\(decisionID.uuidString.lowercased())\","
            + "\"policy\":\"linucb_v1\",\"policy_version\":\(jsonQuoted(policyVersion)),\"arm_id\":\(jsonQuoted(arm)),"
            + "\"propensity\":\(propensity),\"features\":[0.12,-0.5,1,0.333,0],"
            + "\"candidates\":[\(jsonQuoted(arm)),\(jsonQuoted(other))],\"probabilities\":\(probabilities),"
            + "\"explored\":false}"
    }

    static func routing(
        user: String = "hostile-user", model: String = "gpt-4o-mini", provider: String = "openai",
        taskType: String = "code", latency: String = "812.5", withFeatures: Bool = true
    ) -> String {
        "{\(envelope(user: user)),\"source\":\"prod\",\"inference_id\":\"\(UUID().uuidString)\","
            + "\"task_type\":\(jsonQuoted(taskType)),\"task_type_source\":\"classifier\","
            + "\"policy_version\":\"routing_v1@1.2.0+0badc0de\",\"model\":\(jsonQuoted(model)),"
            + "\"provider\":\(jsonQuoted(provider)),\"constraint_band\":\"standard\",\"reward\":0.82,"
            + "\"latency_ms\":\(latency),\"cost_usd\":0.00042,\"completed\":true,\"policy\":\"routing_v1\""
            + (withFeatures ? ",\"features\":[1,0,0,0.25,-0.75,0.5,0.125,1e-3]" : "") + "}"
    }

    /// Replaces the first occurrence of `old` in `body`.
    static func replacing(_ body: String, _ old: String, _ new: String) -> String {
        guard let range = body.range(of: old) else { fatalError("corpus: \(old) not in \(body)") }
        return body.replacingCharacters(in: range, with: new)
    }

    /// Every class, built fresh (new event ids) each call.
    static func cases() -> [Case] {
        var cases: [Case] = []
        func add(_ name: String, _ subject: String, _ body: String, _ reason: String) {
            cases.append(Case(name: name, subject: subject, body: Array(body.utf8), reason: reason))
        }
        func addBytes(_ name: String, _ subject: String, _ body: [UInt8], _ reason: String) {
            cases.append(Case(name: name, subject: subject, body: body, reason: reason))
        }
        let synced = "signals.task.synced"
        let reward = "feedback.reward"
        let good = taskSynced()

        // JSON syntax and encoding.
        add("empty body", synced, "", "json.invalid")
        add("truncated object", synced, String(good.dropLast()), "json.invalid")
        add("trailing comma", synced, replacing(good, "}", ",}"), "json.invalid")
        addBytes("invalid UTF-8", synced, Array(good.utf8.dropLast()) + [0xFF, 0x7D], "json.invalid")
        addBytes(
            "overlong UTF-8 in a string", synced,
            Array(replacing(good, "hostile-user", "X").utf8).map {
                $0 == UInt8(ascii: "X") ? 0xC1 : $0
            }, "json.invalid")
        addBytes("byte order mark", synced, [0xEF, 0xBB, 0xBF] + Array(good.utf8), "json.invalid")
        add(
            "nesting 200 deep", synced,
            replacing(
                good, "{", "{\"deep\":" + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + ","),
            "json.invalid")
        add("NaN", reward, replacing(inlineReward(), "\"reward\":0.5", "\"reward\":NaN"), "json.invalid")
        add("Infinity", reward, replacing(inlineReward(), "\"reward\":0.5", "\"reward\":Infinity"), "json.invalid")
        add(
            "duplicate member", synced, replacing(good, "\"task_count\":7", "\"task_count\":7,\"task_count\":8"),
            "json.invalid")
        add("lone surrogate escape", synced, replacing(good, "hostile-user", "\\ud800"), "json.invalid")
        add("single quotes", synced, good.replacingOccurrences(of: "\"", with: "'"), "json.invalid")
        add("trailing garbage", synced, good + " x", "json.invalid")
        add("raw control character in a string", synced, replacing(good, "hostile-user", "a\nb"), "json.invalid")
        add("leading zero", synced, replacing(good, "\"task_count\":7", "\"task_count\":07"), "json.invalid")
        add("two objects", synced, good + good, "json.invalid")
        add("bare word", synced, "hello", "json.invalid")

        // Top level and envelope rules, one at a time.
        add("top-level array", synced, "[\(good)]", "schema.invalid")
        add("top-level string", synced, "\"x\"", "schema.invalid")
        add("top-level null", synced, "null", "schema.invalid")
        add("missing event_id", synced, "{\"schema_version\":1,\"user_id\":\"u\",\"task_count\":1}", "schema.invalid")
        add("event_id not a UUID", synced, replacing(good, "\"event_id\":\"", "\"event_id\":\"x"), "schema.invalid")
        add(
            "schema_version 2", synced, replacing(good, "\"schema_version\":1", "\"schema_version\":2"),
            "schema.invalid")
        add(
            "schema_version 1.0", synced, replacing(good, "\"schema_version\":1", "\"schema_version\":1.0"),
            "schema.invalid")
        add(
            "occurred_at without offset", synced,
            taskSynced().replacingOccurrences(
                of: #""occurred_at":"[^"]*""#, with: "\"occurred_at\":\"2026-04-25T10:00:00\"",
                options: .regularExpression), "schema.invalid")
        add(
            "occurred_at 48 h ahead", synced,
            taskSynced().replacingOccurrences(
                of: #""occurred_at":"[^"]*""#, with: "\"occurred_at\":\"\(now(offset: 172_800))\"",
                options: .regularExpression), "schema.invalid")
        add("user_id with a space", synced, taskSynced(user: "bad user"), "schema.invalid")
        add("user_id of 129 characters", synced, taskSynced(user: String(repeating: "u", count: 129)), "schema.invalid")
        add("user_id empty", synced, taskSynced(user: ""), "schema.invalid")
        add("user_id with a quote", synced, taskSynced(user: "o'brien"), "schema.invalid")
        add(
            "source staging", synced, replacing(good, "\"source\":\"prod\"", "\"source\":\"staging\""), "schema.invalid"
        )
        add("source null", synced, replacing(good, "\"source\":\"prod\"", "\"source\":null"), "schema.invalid")

        // Subject rules, one at a time.
        add("task_count -1", synced, taskSynced(count: "-1"), "schema.invalid")
        add("task_count 10000001", synced, taskSynced(count: "10000001"), "schema.invalid")
        add("task_count huge integer", synced, taskSynced(count: "99999999999999999999999999"), "schema.invalid")
        add("task_count 1e400", synced, taskSynced(count: "1e400"), "schema.invalid")
        add("task_count a string", synced, taskSynced(count: "\"7\""), "schema.invalid")
        add("tip action liked", "signals.tip.feedback", tip(action: "liked"), "schema.invalid")
        add(
            "tip_id of 129 characters", "signals.tip.feedback", tip(tip: String(repeating: "t", count: 129)),
            "schema.invalid")
        add("tip_id empty", "signals.tip.feedback", tip(tip: ""), "schema.invalid")
        add("tip_id with NUL", "signals.tip.feedback", tip(tip: "a\u{0}b"), "schema.invalid")
        add("propensity 0", "signals.decision", decision(propensity: "0", probabilities: "[0,1]"), "schema.invalid")
        add(
            "policy_version of another policy", "signals.decision",
            decision(policyVersion: "egreedy_v1@1.0.0+a3f9c2e1"), "schema.invalid")
        add(
            "policy_version without build", "signals.decision", decision(policyVersion: "linucb_v1@1.0.0"),
            "schema.invalid")
        add(
            "candidates without arm_id", "signals.decision",
            replacing(decision(), "\"candidates\":[\"arm-1\"", "\"candidates\":[\"arm-3\""), "schema.invalid")
        add("probabilities summing to 0.9", "signals.decision", decision(probabilities: "[0.5,0.4]"), "schema.invalid")
        add("reward 1.5", reward, inlineReward(reward: "1.5"), "schema.invalid")
        add("reward 1e400", reward, inlineReward(reward: "1e400"), "schema.invalid")
        add("reward a string", reward, inlineReward(reward: "\"1\""), "schema.invalid")
        add(
            "reward with both forms", reward,
            replacing(inlineReward(), "\"reward\":0.5", "\"reward\":0.5,\"decision_id\":\"\(UUID().uuidString)\""),
            "schema.invalid")
        add(
            "reward without a target", reward,
            "{\(envelope()),\"reward\":0.5}", "schema.invalid")
        add("feature beyond 1e6", reward, replacing(inlineReward(), "[0.1,", "[1e7,"), "schema.invalid")
        add("feature null", reward, replacing(inlineReward(), "[0.1,", "[null,"), "schema.invalid")
        add("routing task_type poetry", "feedback.routing", routing(taskType: "poetry"), "schema.invalid")
        add("routing latency -1", "feedback.routing", routing(latency: "-1"), "schema.invalid")
        add("routing policy without features", "feedback.routing", routing(withFeatures: false), "schema.invalid")
        add(
            "routing provider of 65 characters", "feedback.routing",
            routing(provider: String(repeating: "p", count: 65)),
            "schema.invalid")

        // Policies and dimensions.
        add("policy linucb_v9", reward, replacing(inlineReward(), "linucb_v1", "linucb_v9"), "policy.unknown")
        add(
            "features of 3", reward, replacing(inlineReward(), "[0.1,-0.2,0.3,0.4,0.5]", "[0.1,0.2,0.3]"),
            "dimension.mismatch")
        add(
            "features of 500", reward,
            replacing(
                inlineReward(), "[0.1,-0.2,0.3,0.4,0.5]",
                "[" + Array(repeating: "0", count: 500).joined(separator: ",") + "]"),
            "dimension.mismatch")

        // Size and subjects.
        add(
            "70,000-byte body", synced,
            replacing(good, "{", "{\"pad\":\"" + String(repeating: "x", count: 70_000) + "\","), "payload.too_large")
        add("subject signals.task.sync", "signals.task.sync", good, "subject.unknown")
        add("subject feedback.other.thing", "feedback.other.thing", good, "subject.unknown")
        add("subject signals.decision.extra", "signals.decision.extra", decision(), "subject.unknown")
        return cases
    }
}
