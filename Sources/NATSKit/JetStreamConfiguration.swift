/// The subset of JetStream's stream configuration banditd sets and checks. Fields we do not
/// model are left to the server's defaults on create. Durations travel as nanoseconds.
public struct StreamConfiguration: Sendable, Equatable, Codable {
    public enum Storage: String, Sendable, Codable { case file, memory }
    public enum Retention: String, Sendable, Codable { case limits, interest, workqueue }
    public enum Discard: String, Sendable, Codable { case old, new }

    public var name: String
    public var subjects: [String]
    public var retention: Retention
    public var storage: Storage
    public var replicas: Int
    /// 0 keeps messages forever (subject to the size limits).
    public var maxAge: Duration
    public var maxBytes: Int64
    public var maxMessages: Int64
    public var maxMessageSize: Int32
    public var discard: Discard
    /// JetStream drops a second publish with the same `Nats-Msg-Id` inside this window.
    public var duplicateWindow: Duration

    public init(
        name: String, subjects: [String], retention: Retention = .limits, storage: Storage = .file,
        replicas: Int = 1, maxAge: Duration = .zero, maxBytes: Int64 = -1, maxMessages: Int64 = -1,
        maxMessageSize: Int32 = -1, discard: Discard = .old, duplicateWindow: Duration = .seconds(120)
    ) {
        self.name = name
        self.subjects = subjects
        self.retention = retention
        self.storage = storage
        self.replicas = replicas
        self.maxAge = maxAge
        self.maxBytes = maxBytes
        self.maxMessages = maxMessages
        self.maxMessageSize = maxMessageSize
        self.discard = discard
        self.duplicateWindow = duplicateWindow
    }

    enum CodingKeys: String, CodingKey {
        case name, subjects, retention, storage, discard
        case replicas = "num_replicas"
        case maxAge = "max_age"
        case maxBytes = "max_bytes"
        case maxMessages = "max_msgs"
        case maxMessageSize = "max_msg_size"
        case duplicateWindow = "duplicate_window"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        subjects = try c.decodeIfPresent([String].self, forKey: .subjects) ?? []
        retention = try c.decodeIfPresent(Retention.self, forKey: .retention) ?? .limits
        storage = try c.decodeIfPresent(Storage.self, forKey: .storage) ?? .file
        replicas = try c.decodeIfPresent(Int.self, forKey: .replicas) ?? 1
        maxAge = .nanoseconds(try c.decodeIfPresent(Int64.self, forKey: .maxAge) ?? 0)
        maxBytes = try c.decodeIfPresent(Int64.self, forKey: .maxBytes) ?? -1
        maxMessages = try c.decodeIfPresent(Int64.self, forKey: .maxMessages) ?? -1
        maxMessageSize = try c.decodeIfPresent(Int32.self, forKey: .maxMessageSize) ?? -1
        discard = try c.decodeIfPresent(Discard.self, forKey: .discard) ?? .old
        duplicateWindow = .nanoseconds(try c.decodeIfPresent(Int64.self, forKey: .duplicateWindow) ?? 0)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(subjects, forKey: .subjects)
        try c.encode(retention, forKey: .retention)
        try c.encode(storage, forKey: .storage)
        try c.encode(replicas, forKey: .replicas)
        try c.encode(maxAge.natsNanoseconds, forKey: .maxAge)
        try c.encode(maxBytes, forKey: .maxBytes)
        try c.encode(maxMessages, forKey: .maxMessages)
        try c.encode(maxMessageSize, forKey: .maxMessageSize)
        try c.encode(discard, forKey: .discard)
        try c.encode(duplicateWindow.natsNanoseconds, forKey: .duplicateWindow)
    }
}

/// The subset of a consumer's configuration banditd sets and checks.
public struct ConsumerConfiguration: Sendable, Equatable, Codable {
    public enum AckPolicy: String, Sendable, Codable { case none, all, explicit }
    public enum DeliverPolicy: String, Sendable, Codable {
        case all, last, new
        case byStartSequence = "by_start_sequence"
        case byStartTime = "by_start_time"
        case lastPerSubject = "last_per_subject"
    }

    public var durableName: String?
    public var deliverPolicy: DeliverPolicy
    public var ackPolicy: AckPolicy
    public var ackWait: Duration
    /// -1 is unlimited.
    public var maxDeliver: Int
    public var maxAckPending: Int
    /// Pull requests the server keeps waiting at once.
    public var maxWaiting: Int
    public var filterSubject: String?
    /// Set only on push consumers; a pull consumer has none.
    public var deliverSubject: String?
    /// Redelivery delays after an ack timeout; when set, the server uses `backoff[0]` as the ack
    /// wait. banditd leaves it empty and computes nak delays itself (CONTRACT section 1).
    public var backoff: [Duration]

    public init(
        durableName: String?, deliverPolicy: DeliverPolicy = .all, ackPolicy: AckPolicy = .explicit,
        ackWait: Duration = .seconds(30), maxDeliver: Int = 5, maxAckPending: Int = 1000,
        maxWaiting: Int = 512, filterSubject: String? = nil, deliverSubject: String? = nil,
        backoff: [Duration] = []
    ) {
        self.durableName = durableName
        self.deliverPolicy = deliverPolicy
        self.ackPolicy = ackPolicy
        self.ackWait = ackWait
        self.maxDeliver = maxDeliver
        self.maxAckPending = maxAckPending
        self.maxWaiting = maxWaiting
        self.filterSubject = filterSubject
        self.deliverSubject = deliverSubject
        self.backoff = backoff
    }

    enum CodingKeys: String, CodingKey {
        case backoff
        case durableName = "durable_name"
        case deliverPolicy = "deliver_policy"
        case ackPolicy = "ack_policy"
        case ackWait = "ack_wait"
        case maxDeliver = "max_deliver"
        case maxAckPending = "max_ack_pending"
        case maxWaiting = "max_waiting"
        case filterSubject = "filter_subject"
        case deliverSubject = "deliver_subject"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        durableName = try c.decodeIfPresent(String.self, forKey: .durableName)
        deliverPolicy = try c.decodeIfPresent(DeliverPolicy.self, forKey: .deliverPolicy) ?? .all
        ackPolicy = try c.decodeIfPresent(AckPolicy.self, forKey: .ackPolicy) ?? .none
        ackWait = .nanoseconds(try c.decodeIfPresent(Int64.self, forKey: .ackWait) ?? 0)
        maxDeliver = try c.decodeIfPresent(Int.self, forKey: .maxDeliver) ?? -1
        maxAckPending = try c.decodeIfPresent(Int.self, forKey: .maxAckPending) ?? -1
        maxWaiting = try c.decodeIfPresent(Int.self, forKey: .maxWaiting) ?? 0
        filterSubject = try c.decodeIfPresent(String.self, forKey: .filterSubject).flatMap { $0.isEmpty ? nil : $0 }
        deliverSubject = try c.decodeIfPresent(String.self, forKey: .deliverSubject).flatMap { $0.isEmpty ? nil : $0 }
        backoff = (try c.decodeIfPresent([Int64].self, forKey: .backoff) ?? []).map { .nanoseconds($0) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(durableName, forKey: .durableName)
        try c.encode(deliverPolicy, forKey: .deliverPolicy)
        try c.encode(ackPolicy, forKey: .ackPolicy)
        try c.encode(ackWait.natsNanoseconds, forKey: .ackWait)
        try c.encode(maxDeliver, forKey: .maxDeliver)
        try c.encode(maxAckPending, forKey: .maxAckPending)
        try c.encode(maxWaiting, forKey: .maxWaiting)
        try c.encodeIfPresent(filterSubject, forKey: .filterSubject)
        try c.encodeIfPresent(deliverSubject, forKey: .deliverSubject)
        if !backoff.isEmpty { try c.encode(backoff.map(\.natsNanoseconds), forKey: .backoff) }
    }
}

public struct StreamInfo: Sendable, Decodable {
    public struct State: Sendable, Decodable {
        public var messages: UInt64
        public var bytes: UInt64
        public var firstSequence: UInt64
        public var lastSequence: UInt64
        public var consumerCount: Int

        enum CodingKeys: String, CodingKey {
            case messages, bytes
            case firstSequence = "first_seq"
            case lastSequence = "last_seq"
            case consumerCount = "consumer_count"
        }
    }

    public struct Cluster: Sendable, Decodable {
        public var leader: String?
    }

    public var config: StreamConfiguration
    public var state: State
    public var cluster: Cluster?
}

public struct ConsumerInfo: Sendable, Decodable {
    public struct SequenceInfo: Sendable, Decodable {
        public var consumerSequence: UInt64
        public var streamSequence: UInt64

        enum CodingKeys: String, CodingKey {
            case consumerSequence = "consumer_seq"
            case streamSequence = "stream_seq"
        }
    }

    public var streamName: String
    public var name: String
    public var config: ConsumerConfiguration
    public var delivered: SequenceInfo
    public var ackFloor: SequenceInfo
    /// Messages in the stream not yet delivered to this consumer.
    public var pending: UInt64
    /// Delivered, not yet acked.
    public var ackPending: Int
    public var redelivered: Int
    /// Pull requests waiting at the server.
    public var waiting: Int

    enum CodingKeys: String, CodingKey {
        case name, config, delivered
        case streamName = "stream_name"
        case ackFloor = "ack_floor"
        case pending = "num_pending"
        case ackPending = "num_ack_pending"
        case redelivered = "num_redelivered"
        case waiting = "num_waiting"
    }
}

/// JetStream's acknowledgement of a publish: the message is stored (or was a duplicate).
public struct PubAck: Sendable, Decodable, Equatable {
    public var stream: String
    public var sequence: UInt64
    /// True when the `Nats-Msg-Id` was seen inside the duplicate window: nothing was stored.
    public var duplicate: Bool

    enum CodingKeys: String, CodingKey {
        case stream, duplicate
        case sequence = "seq"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stream = try c.decode(String.self, forKey: .stream)
        sequence = try c.decode(UInt64.self, forKey: .sequence)
        duplicate = try c.decodeIfPresent(Bool.self, forKey: .duplicate) ?? false
    }
}
