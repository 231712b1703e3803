import BanditCore

/// Everything the daemon and its commands read from configuration. Every stored value is
/// declared, with its default, in `ConfigurationSettings.all` (the policies in `PolicySetting`);
/// the defaults are the values shipped in `config/banditd.json`, and a test keeps the two equal.
public struct BanditdConfiguration: Sendable {
    public struct NATS: Sendable, Equatable {
        public var servers: [String] = ConfigurationSettings.default(for: \BanditdConfiguration.nats.servers)
        public var user: String? = ConfigurationSettings.default(for: \BanditdConfiguration.nats.user)
        public var password: String? = ConfigurationSettings.default(for: \BanditdConfiguration.nats.password)
        public var token: String? = ConfigurationSettings.default(for: \BanditdConfiguration.nats.token)
        public var credentialsFile: String? = ConfigurationSettings.default(
            for: \BanditdConfiguration.nats.credentialsFile)
        public var tlsCAFile: String? = ConfigurationSettings.default(for: \BanditdConfiguration.nats.tlsCAFile)
        public var tlsCertificateFile: String? = ConfigurationSettings.default(
            for: \BanditdConfiguration.nats.tlsCertificateFile)
        public var tlsKeyFile: String? = ConfigurationSettings.default(for: \BanditdConfiguration.nats.tlsKeyFile)
        /// Consumers are `{prefix}-signals` and `{prefix}-feedback`.
        public var durablePrefix: String = ConfigurationSettings.default(for: \BanditdConfiguration.nats.durablePrefix)
        public var maxDeliver: Int = ConfigurationSettings.default(for: \BanditdConfiguration.nats.maxDeliver)
        public var ackWait: Duration = ConfigurationSettings.default(for: \BanditdConfiguration.nats.ackWait)
        public var maxAckPending: Int = ConfigurationSettings.default(for: \BanditdConfiguration.nats.maxAckPending)
        /// 1 for a single server, 3 for a three-node cluster.
        public var streamReplicas: Int = ConfigurationSettings.default(for: \BanditdConfiguration.nats.streamReplicas)
        public var connectTimeout: Duration = ConfigurationSettings.default(
            for: \BanditdConfiguration.nats.connectTimeout)
        /// SIGNALS and FEEDBACK keep a message at most this long (CONTRACT section 10).
        public var streamMaxAge: Duration = ConfigurationSettings.default(for: \BanditdConfiguration.nats.streamMaxAge)

        public init() {}

        public var signalsConsumer: String { "\(durablePrefix)-signals" }
        public var feedbackConsumer: String { "\(durablePrefix)-feedback" }
    }

    public struct Postgres: Sendable, Equatable {
        /// libpq conninfo (`host=… dbname=…`) or URI (`postgresql://…`). May hold a password:
        /// never log it; log `PostgresConninfo.redacted` instead.
        public var url: String = ConfigurationSettings.default(for: \BanditdConfiguration.postgres.url)
        public var migrateOnStart: Bool = ConfigurationSettings.default(
            for: \BanditdConfiguration.postgres.migrateOnStart)

        public init() {}
    }

    public struct Processing: Sendable, Equatable {
        public var batchSize: Int = ConfigurationSettings.default(for: \BanditdConfiguration.processing.batchSize)
        /// How long one pull waits for a first message.
        public var maxWait: Duration = ConfigurationSettings.default(for: \BanditdConfiguration.processing.maxWait)
        public var workersPerConsumer: Int = ConfigurationSettings.default(
            for: \BanditdConfiguration.processing.workersPerConsumer)
        /// Apply lanes per worker: transactions in flight, messages split among them by user.
        public var applyLanes: Int = ConfigurationSettings.default(for: \BanditdConfiguration.processing.applyLanes)
        public var maxPayloadBytes: Int = ConfigurationSettings.default(
            for: \BanditdConfiguration.processing.maxPayloadBytes)
        /// How long shutdown may take to settle in-flight batches before exiting.
        public var shutdownGrace: Duration = ConfigurationSettings.default(
            for: \BanditdConfiguration.processing.shutdownGrace)
        /// How long a reward whose decision has not arrived is kept (parked) before it is
        /// dead-lettered as max_deliveries (CONTRACT section 3, v1.1).
        public var earlyRewardWait: Duration = ConfigurationSettings.default(
            for: \BanditdConfiguration.processing.earlyRewardWait)

        public init() {}
    }

    /// Retention of the ledger and of closed decisions (CONTRACT section 10).
    public struct Lifecycle: Sendable, Equatable {
        public var ledgerRetentionDays: Int = ConfigurationSettings.default(
            for: \BanditdConfiguration.lifecycle.ledgerRetentionDays)
        public var decisionsRetentionDays: Int = ConfigurationSettings.default(
            for: \BanditdConfiguration.lifecycle.decisionsRetentionDays)

        public init() {}

        public var ledgerRetention: Duration { .seconds(ledgerRetentionDays * 86_400) }
        public var decisionsRetention: Duration { .seconds(decisionsRetentionDays * 86_400) }
    }

    public var nats = NATS()
    public var postgres = Postgres()
    public var processing = Processing()
    public var lifecycle = Lifecycle()
    public var healthSocket: String = ConfigurationSettings.default(for: \BanditdConfiguration.healthSocket)
    public var logLevel: LogLevel = ConfigurationSettings.default(for: \BanditdConfiguration.logLevel)
    /// Where `/metrics` and `/healthz` are served over HTTP (CONTRACT section 11); nil: not served.
    public var metricsListen: ListenAddress? = ConfigurationSettings.default(for: \BanditdConfiguration.metricsListen)
    public var policies: PolicyRegistry = .defaults

    public init() {}
}

/// The swift-log levels, spelled as in `LOG_LEVEL`.
public enum LogLevel: String, Sendable, CaseIterable, Equatable {
    case trace, debug, info, notice, warning, error, critical
}
