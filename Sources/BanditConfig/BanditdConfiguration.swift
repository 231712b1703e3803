import BanditCore

/// Everything the daemon and its commands read from configuration. The defaults here are the
/// values shipped in `config/banditd.json`; a test keeps the two equal.
public struct BanditdConfiguration: Sendable {
    public struct NATS: Sendable, Equatable {
        public var servers: [String] = ["nats://127.0.0.1:4222"]
        public var user: String?
        public var password: String?
        public var token: String?
        public var credentialsFile: String?
        public var tlsCAFile: String?
        public var tlsCertificateFile: String?
        public var tlsKeyFile: String?
        /// Consumers are `{prefix}-signals` and `{prefix}-feedback`.
        public var durablePrefix = "feature-pipeline"
        public var maxDeliver = 5
        public var ackWait: Duration = .seconds(30)
        public var maxAckPending = 1000
        /// 1 for a single server, 3 for a three-node cluster.
        public var streamReplicas = 1
        public var connectTimeout: Duration = .seconds(2)

        public init() {}

        public var signalsConsumer: String { "\(durablePrefix)-signals" }
        public var feedbackConsumer: String { "\(durablePrefix)-feedback" }
    }

    public struct Postgres: Sendable, Equatable {
        /// libpq conninfo (`host=… dbname=…`) or URI (`postgresql://…`). May hold a password:
        /// never log it; log `PostgresConninfo.redacted` instead.
        public var url = "postgresql:///banditd"
        public var migrateOnStart = true

        public init() {}
    }

    public struct Processing: Sendable, Equatable {
        public var batchSize = 256
        /// How long one pull waits for a first message.
        public var maxWait: Duration = .milliseconds(500)
        public var workersPerConsumer = 1
        public var maxPayloadBytes = 65536
        /// How long shutdown may take to settle in-flight batches before exiting.
        public var shutdownGrace: Duration = .seconds(20)
        /// How long a reward whose decision has not arrived is kept (parked) before it is
        /// dead-lettered as max_deliveries (CONTRACT section 3, v1.1).
        public var earlyRewardWait: Duration = .seconds(120)

        public init() {}
    }

    public var nats = NATS()
    public var postgres = Postgres()
    public var processing = Processing()
    public var healthSocket = "/run/banditd/health.sock"
    /// Where `/metrics` and `/healthz` are served over HTTP (CONTRACT section 11); nil: not served.
    public var metricsListen: ListenAddress?
    public var logLevel: LogLevel = .info
    public var policies: PolicyRegistry = .defaults

    public init() {}
}

/// The swift-log levels, spelled as in `LOG_LEVEL`.
public enum LogLevel: String, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}
