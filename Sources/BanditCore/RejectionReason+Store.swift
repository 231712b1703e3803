extension RejectionReason {
    /// A `signals.decision` whose `decision_id` is already logged by another event.
    public static let decisionDuplicate = RejectionReason(rawValue: "decision.duplicate")
    /// PostgreSQL refused the row (a constraint, SQLSTATE class 22/23) although it passed
    /// validation, e.g. a policy whose dimension changed under existing state.
    public static let dataRejected = RejectionReason(rawValue: "data.rejected")
}
