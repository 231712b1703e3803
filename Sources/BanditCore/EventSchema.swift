/// The JSON Schema (draft 2020-12) of one subject's payload, generated from the same member
/// rules the event types decode with, for producers that validate before they publish.
/// `banditd schema export` writes one document per subject.
public struct EventSchema: Sendable {
    public let subject: EventSubject
    let title: String
    let members: [MemberDescription]
    /// Schema keywords beyond `properties` and `required` (the reward's forms as `oneOf`, …).
    let constraints: [(String, SchemaJSON)]
    /// Rules between members that JSON Schema cannot state.
    let crossFieldRules: [String]

    init(
        subject: EventSubject, title: String, members: [MemberDescription],
        constraints: [(String, SchemaJSON)] = [], crossFieldRules: [String] = []
    ) {
        self.subject = subject
        self.title = title
        self.members = members
        self.constraints = constraints
        self.crossFieldRules = crossFieldRules
    }

    /// One schema per subject, in `EventSubject.allCases` order.
    public static var all: [EventSchema] { EventSubject.allCases.map(of) }

    public static func of(_ subject: EventSubject) -> EventSchema {
        switch subject {
        case .taskSynced: TaskSynced.schema
        case .tipFeedback: TipFeedback.schema
        case .decision: Decision.schema
        case .reward: Reward.schema
        case .routing: RoutingOutcome.schema
        }
    }

    /// `{subject}.schema.json`.
    public var fileName: String { "\(subject.rawValue).schema.json" }

    /// The document as written to a file (ends with a newline).
    public var text: String { document.text() + "\n" }

    /// The rules of this subject that the schema does not express; the receiving daemon checks
    /// them. They are also in the document's `description`.
    public var inexpressibleRules: [String] {
        var rules = [
            "The body is I-JSON (RFC 7493): UTF-8 without a byte order mark, no duplicate member names at any depth, "
                + "no escaped lone surrogates, nesting at most \(EventDecoder.maxNestingDepth) deep, and at most "
                + "max_payload_bytes (default \(EventDecoder.defaultMaxPayloadBytes)) bytes."
        ]
        let integers = members.filter { $0.schema["type"] == "integer" }.map(\.field.name)
        if !integers.isEmpty {
            rules.append(
                "\(integers.joined(separator: " and ")) must be written in integer syntax: 1.0 and 1e0 are rejected.")
        }
        rules.append(
            "occurred_at names a day that exists (February 29 only in leap years) and lies at most 24 h after the "
                + "receiver's clock.")
        if members.contains(where: { $0.field == .policy }) {
            rules.append(
                "policy names a policy configured in the receiving daemon (policy.unknown otherwise), and features "
                    + "has exactly that policy's dimension (dimension.mismatch otherwise).")
        }
        return rules + crossFieldRules.map { $0.prefix(1).uppercased() + $0.dropFirst() + "." }
    }

    public var document: SchemaJSON {
        let description =
            "Payload of the NATS subject \(subject.rawValue) (banditd v1): \(title.lowercased()). Unknown members "
            + "are ignored. null is never a value: an optional member given as null is rejected (absent and null "
            + "differ). Rules this schema cannot express, checked by the receiver: "
            + inexpressibleRules.enumerated().map { "(\($0.offset + 1)) \($0.element)" }.joined(separator: " ")
        var document: [(String, SchemaJSON)] = [
            ("$schema", "https://json-schema.org/draft/2020-12/schema"),
            ("$id", .string("urn:banditd:schema:v1:\(subject.rawValue)")),
            ("title", .string(subject.rawValue)),
            ("description", .string(description)),
            ("type", "object"),
            ("required", .array(members.filter { $0.presence == .required }.map { .string($0.field.name) })),
            ("properties", .object(members.map { ($0.field.name, $0.schema) })),
        ]
        document += constraints
        return .object(document)
    }
}
