/// A stable, machine-readable code saying why a message was rejected.
///
/// The raw values are part of the external contract (CONTRACT section 3): they travel in the
/// `Deadletter-Reason` header and dashboards group by them. Never rename one.
public struct RejectionReason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    // Decided by `EventDecoder` (permanent errors).

    /// The body is not JSON we accept: bad syntax, invalid UTF-8, a byte order mark, a lone
    /// surrogate escape, nesting deeper than `EventDecoder.maxNestingDepth`, or a duplicate
    /// member name in any object (I-JSON, RFC 7493).
    public static let jsonInvalid = RejectionReason(rawValue: "json.invalid")
    /// Well-formed JSON that breaks a rule of the v1 schema: the top level is not an object, a
    /// required field is missing, a field has the wrong type, range, form or enum value, an
    /// optional field is `null`, or the fields of a form are mixed.
    public static let schemaInvalid = RejectionReason(rawValue: "schema.invalid")
    /// The subject is not one of the five v1 subjects.
    public static let subjectUnknown = RejectionReason(rawValue: "subject.unknown")
    /// A `policy` field names no configured policy.
    public static let policyUnknown = RejectionReason(rawValue: "policy.unknown")
    /// A feature vector's length differs from its policy's dimension.
    public static let dimensionMismatch = RejectionReason(rawValue: "dimension.mismatch")
    /// The body is larger than `max_payload_bytes`; checked before anything is parsed.
    public static let payloadTooLarge = RejectionReason(rawValue: "payload.too_large")

    // Decided later by the store and the pipeline; defined here so all codes live in one place.

    /// A reward for a decision that already took one.
    public static let decisionAlreadyRewarded = RejectionReason(rawValue: "decision.already_rewarded")
    /// A reward whose `user_id` or `source` differs from its decision's.
    public static let decisionMismatch = RejectionReason(rawValue: "decision.mismatch")
    /// A `signals.decision` whose `decision_id` is already logged by another event.
    public static let decisionDuplicate = RejectionReason(rawValue: "decision.duplicate")
    /// PostgreSQL refused the row (a constraint, SQLSTATE class 22/23) although it passed
    /// validation, e.g. a policy whose dimension changed under existing state.
    public static let dataRejected = RejectionReason(rawValue: "data.rejected")
    /// A message whose deliveries ran out (a transient failure that outlived `max_deliver`, a
    /// parked reward whose decision never came, or deliveries spent while no daemon ran).
    public static let maxDeliveries = RejectionReason(rawValue: "max_deliveries")

    /// Every code, in contract order: what a dead letter's `Deadletter-Reason` can say and what
    /// the `reason` label of `banditd_messages_dead_lettered_total` takes.
    public static let all: [RejectionReason] = [
        .jsonInvalid, .schemaInvalid, .subjectUnknown, .policyUnknown, .dimensionMismatch, .payloadTooLarge,
        .decisionAlreadyRewarded, .decisionMismatch, .decisionDuplicate, .dataRejected, .maxDeliveries,
    ]

    /// The codes `EventDecoder` decides (the rest come from the store and the pipeline).
    public static let decoderCodes: [RejectionReason] = [
        .jsonInvalid, .schemaInvalid, .subjectUnknown, .policyUnknown, .dimensionMismatch, .payloadTooLarge,
    ]
}
