import NATSKit

/// What the process tests, the benchmark and the chaos runs ask of the two durable consumers
/// (default prefix) and of publishing large sets.
extension NATSConnection {
    /// (stream, consumer) of CONTRACT section 1 with the default prefix.
    public static let defaultConsumers = [
        ("SIGNALS", "feature-pipeline-signals"), ("FEEDBACK", "feature-pipeline-feedback"),
    ]

    /// The consumer info of both consumers; the ones that cannot be read are left out.
    public func defaultConsumerInfos() -> [ConsumerInfo] {
        Self.defaultConsumers.compactMap { try? consumerInfo(stream: $0.0, consumer: $0.1) }
    }

    /// Both consumers have delivered everything and hold nothing unacknowledged.
    public func consumersAreDrained() -> Bool {
        let infos = defaultConsumerInfos()
        return infos.count == Self.defaultConsumers.count && infos.allSatisfy { $0.pending == 0 && $0.ackPending == 0 }
    }

    /// Publishes `messages` pipelined, 5000 at a time, each acknowledged by JetStream.
    public func publishInChunks(_ messages: [OutgoingMessage]) throws {
        var offset = 0
        while offset < messages.count {
            let end = min(messages.count, offset + 5000)
            _ = try publishPipelined(Array(messages[offset..<end]), window: 1024, timeout: .seconds(30))
            offset = end
        }
    }
}
