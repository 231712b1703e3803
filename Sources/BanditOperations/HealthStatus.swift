/// The daemon's status as the health socket reports it (CONTRACT section 7).
public enum HealthStatus: String, Sendable, CaseIterable {
    /// Not yet ready: migrations, streams, consumers or the first database answer are pending.
    case starting
    /// Both consumers are bound and NATS and PostgreSQL are connected.
    case ready
    /// Was ready, but NATS or PostgreSQL is unreachable right now.
    case degraded
    /// SIGTERM received: draining in-flight messages, then exiting. Final.
    case stopping
}
