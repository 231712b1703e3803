import Foundation

/// `signals.task.synced`: the user's task count at `occurredAt`.
public struct TaskSynced: EventPayload, Equatable {
    public static let subject = EventSubject.taskSynced

    public var eventID: UUID
    public var occurredAt: Date
    public var userID: String
    public var source: EventSource
    /// 0…10,000,000.
    public var taskCount: Int

    public init(eventID: UUID, occurredAt: Date, userID: String, source: EventSource = .prod, taskCount: Int) {
        self.eventID = eventID
        self.occurredAt = occurredAt
        self.userID = userID
        self.source = source
        self.taskCount = taskCount
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: FieldKey.self)
        try container.encodeEnvelope(of: self)
        try container.encode(taskCount, for: .taskCount)
    }
}
