import Foundation

/// `signals.task.synced`: the user's task count at `occurredAt`.
public struct TaskSynced: EventPayload, Equatable {
    public static let subject = EventSubject.taskSynced

    public let envelope: Envelope
    /// 0…10,000,000.
    public let taskCount: Int

    enum Members {
        static let taskCount = Member(.taskCount, Rules.taskCount, .required)
    }

    static let schema = EventSchema(
        subject: subject, title: "A user's task count at occurred_at",
        members: Envelope.Members.all + [Members.taskCount.description])

    /// Throws the `Rejection` `EventDecoder` would give this event's JSON.
    public init(
        eventID: UUID, occurredAt: Date, userID: String, source: EventSource = .prod, taskCount: Int
    ) throws(Rejection) {
        envelope = Envelope(eventID: eventID, occurredAt: occurredAt, userID: userID, source: source)
        self.taskCount = taskCount
        try validate(policies: .defaults)
    }

    public init(from decoder: any Decoder) throws {
        let fields = try EventFields(decoder)
        envelope = try Envelope(fields)
        taskCount = try fields.decode(Members.taskCount)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encodeEnvelope(envelope)
        try container.encode(taskCount, forKey: .taskCount)
    }
}
