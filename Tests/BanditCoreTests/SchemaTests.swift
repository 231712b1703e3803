import BanditCore
import Foundation
import Testing

/// The exported JSON Schemas: generated from the decoder's member rules, committed under
/// `schemas/`, and in agreement with the decoder (`.ci/schemas.sh` adds a real validator).
@Suite("JSON Schemas")
struct SchemaTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schemas")

    @Test("the committed schemas/ equal a fresh export, one document per subject", arguments: EventSubject.allCases)
    func committedSchemasAreFresh(_ subject: EventSubject) throws {
        let schema = EventSchema.of(subject)
        #expect(schema.fileName == "\(subject.rawValue).schema.json")
        let committed = try String(contentsOf: Self.directory.appendingPathComponent(schema.fileName), encoding: .utf8)
        #expect(committed == schema.text, "run `banditd schema export` and commit schemas/")
    }

    @Test("every document is a draft 2020-12 object schema that lists the rules it cannot express")
    func documentShape() {
        for schema in EventSchema.all {
            let document = schema.document
            #expect(document["$schema"] == "https://json-schema.org/draft/2020-12/schema")
            #expect(document["type"] == "object")
            #expect(document["title"] == .string(schema.subject.rawValue))
            guard case .string(let description)? = document["description"] else {
                Issue.record("no description")
                continue
            }
            #expect(description.contains("null is never a value"))
            for rule in schema.inexpressibleRules { #expect(description.contains(rule)) }
        }
        let decision = EventSchema.of(.decision).inexpressibleRules.joined(separator: " ")
        #expect(decision.contains("policy_version (before '@') equals policy"))
        #expect(decision.contains("sums to 1"))
        #expect(decision.contains("dimension"))
        #expect(!EventSchema.of(.taskSynced).inexpressibleRules.joined().contains("dimension"))
    }

    @Test(
        "a schema's properties are exactly the members its subject reads, required exactly when the decoder requires them"
    )
    func propertiesMatchTheDecoder() throws {
        let samples: [EventSubject: [Body]] = [
            .taskSynced: [Sample.taskSynced], .tipFeedback: [Sample.tipFeedback], .decision: [Sample.decision],
            .reward: [Sample.rewardDecisionForm, Sample.rewardInlineForm], .routing: [Sample.routing],
        ]
        for (subject, bodies) in samples {
            let document = EventSchema.of(subject).document
            guard case .object(let properties)? = document["properties"],
                case .array(let required)? = document["required"]
            else {
                Issue.record("\(subject): no properties or required")
                continue
            }
            let names = Set(bodies.flatMap { $0.members.map(\.name) })
            #expect(Set(properties.map(\.0)) == names, "\(subject)")
            for name in names {
                let isRequired = required.contains(.string(name))
                for body in bodies where body.members.contains(where: { $0.name == name }) {
                    let result = decode(subject, body.setting(name, nil))
                    if isRequired {
                        #expect(
                            result.failureValue?.detail == "\(name): required field is missing", "\(subject) \(name)")
                    } else {
                        #expect(
                            result.failureValue?.detail != "\(name): required field is missing", "\(subject) \(name)")
                    }
                }
            }
        }
    }

    static func pattern(_ subject: EventSubject, _ field: String) throws -> NSRegularExpression {
        guard case .string(let pattern)? = EventSchema.of(subject).document["properties"]?[field]?["pattern"] else {
            throw Rejection(reason: .schemaInvalid, detail: "\(subject) \(field): no pattern")
        }
        return try NSRegularExpression(pattern: pattern)
    }

    static func matches(_ regex: NSRegularExpression, _ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// Valid values and single-character edits of them (deleted, doubled, replaced).
    static func variants(of seeds: [String], replacements: [Character]) -> [String] {
        var out = Set(seeds)
        for seed in seeds {
            let characters = Array(seed)
            for index in characters.indices {
                var deleted = characters
                deleted.remove(at: index)
                out.insert(String(deleted))
                var doubled = characters
                doubled.insert(characters[index], at: index)
                out.insert(String(doubled))
                for replacement in replacements {
                    var replaced = characters
                    replaced[index] = replacement
                    out.insert(String(replaced))
                }
            }
            out.insert(seed + "\n")
            out.insert(" " + seed)
        }
        return out.sorted()
    }

    static let edits: [Character] = [
        "0", "9", "a", "f", "g", "A", "F", "Z", "z", "T", "-", "+", ":", ".", "@", "_", " ", "é",
    ]

    @Test("each exported pattern accepts exactly the strings the decoder accepts for that member")
    func patternsAgreeWithTheDecoder() throws {
        let far = Date(timeIntervalSinceReferenceDate: 1e12)  // past year 9999: the clock rule is not compared
        func strictAccepts(_ subject: EventSubject, _ field: String, _ value: String, base: Body? = nil) -> Bool {
            let body = (base ?? Sample.body(of: subject)).setting(field, SchemaJSONText.quote(value))
            return (try? testDecoder.decode(subject: subject.rawValue, headers: [:], body: body.bytes, now: far).get())
                != nil
        }
        let checks: [(EventSubject, String, [String], Body?, (String) -> Bool)] = [
            (.taskSynced, "user_id", ["user-000042", "svc:router@eu-1", "A.b_c", "x"], nil, { _ in true }),
            (
                .taskSynced, "event_id",
                ["0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d01", "0B7C2F5E-8A41-4C3B-9D2E-5F6A7B8C9D01"], nil, { _ in true }
            ),
            (
                .taskSynced, "occurred_at",
                [
                    "2026-04-25T10:00:00Z", "2026-04-25t10:00:00.123+02:00", "2024-02-29T23:59:60-05:30",
                    "2026-12-31T00:00:00.5z", "2026-02-28T10:00:00Z",
                ], nil,
                // February 29 outside a leap year is the one calendar rule left to the receiver.
                { !($0.contains("-02-29T") && !$0.hasPrefix("2024")) }
            ),
            (
                .routing, "policy_version",
                ["routing_v1@1.2.0+0badc0de", "a@10.20.30-rc.1+00000000", "x.y-z@0.0.0-alpha-2.0a+abcdef01"], nil,
                { _ in true }
            ),
        ]
        var compared = 0
        for (subject, field, seeds, base, onlyWhen) in checks {
            let regex = try Self.pattern(subject, field)
            for value in Self.variants(of: seeds, replacements: Self.edits) where onlyWhen(value) {
                let schema = Self.matches(regex, value)
                let strict = strictAccepts(subject, field, value, base: base)
                #expect(schema == strict, "\(field) \(value.debugDescription): schema \(schema), decoder \(strict)")
                compared += 1
            }
        }
        #expect(compared > 1000)
    }
}

/// JSON string literal of any text (test helper).
enum SchemaJSONText {
    static func quote(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }
}
