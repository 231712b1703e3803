import BanditCore

/// Every setting of `banditd`, each declared once. To add one: one entry here (key, environment
/// variable, kind with its range, default, where it lands, help) and the stored property it lands
/// in, whose initial value is `ConfigurationSettings.default(for:)`. The loader, the error
/// messages and config/README.md's table follow (a test fails while the README is stale).
public enum ConfigurationSettings {
    public static let all: [Setting] = [
        Setting(
            "nats.servers", environment: "NATS_URL", .list, default: ["nats://127.0.0.1:4222"], at: \.nats.servers,
            help: "server URLs; `tls://` turns TLS on; the client learns the rest of a cluster"),
        Setting(
            "nats.user", environment: "NATS_USER", .optionalText(), default: nil, at: \.nats.user,
            help: "user for user/password authentication"),
        Setting(
            "nats.password", environment: "NATS_PASSWORD", .optionalText(secret: true), default: nil,
            at: \.nats.password, help: "password for user/password authentication"),
        Setting(
            "nats.token", environment: "NATS_TOKEN", .optionalText(secret: true), default: nil, at: \.nats.token,
            help: "token authentication"),
        Setting(
            "nats.creds_file", environment: "NATS_CREDS", .optionalText(), default: nil, at: \.nats.credentialsFile,
            help: "`.creds` file (user JWT + nkey seed)"),
        Setting(
            "nats.tls_ca_file", environment: "NATS_TLS_CA", .optionalText(), default: nil, at: \.nats.tlsCAFile,
            help: "PEM CA bundle to trust (turns TLS on)"),
        Setting(
            "nats.tls_cert_file", environment: "NATS_TLS_CERT", .optionalText(), default: nil,
            at: \.nats.tlsCertificateFile, help: "client certificate, for servers that verify clients"),
        Setting(
            "nats.tls_key_file", environment: "NATS_TLS_KEY", .optionalText(), default: nil, at: \.nats.tlsKeyFile,
            help: "the client certificate's key"),
        Setting(
            "nats.durable_prefix", environment: "NATS_DURABLE_PREFIX", .natsName, default: "feature-pipeline",
            at: \.nats.durablePrefix, help: "consumers are `{prefix}-signals` and `{prefix}-feedback`"),
        Setting(
            "nats.max_deliver", environment: "NATS_MAX_DELIVER", .integer(1...1000), default: 5, at: \.nats.maxDeliver,
            help: "deliveries before a message that keeps failing transiently is dead-lettered"),
        Setting(
            "nats.ack_wait_s", environment: "NATS_ACK_WAIT_S", .seconds(1...3600), default: .seconds(30),
            at: \.nats.ackWait, help: "consumer ack wait, seconds"),
        Setting(
            "nats.max_ack_pending", environment: "NATS_MAX_ACK_PENDING", .integer(1...1_000_000), default: 10_000,
            at: \.nats.maxAckPending,
            help: "consumer max-ack-pending (set at creation; later changes are reported, not applied)"),
        Setting(
            "nats.stream_replicas", environment: "NATS_STREAM_REPLICAS", .integer(1...5), default: 1,
            at: \.nats.streamReplicas, help: "replicas of the three streams when created (3 on a 3-node cluster)"),
        Setting(
            "nats.connect_timeout_ms", environment: nil, .milliseconds(1...600_000), default: .milliseconds(2000),
            at: \.nats.connectTimeout, help: "timeout of one connection attempt, milliseconds"),
        Setting(
            "nats.stream_max_age_s", environment: "NATS_STREAM_MAX_AGE_S", .seconds(60...315_360_000),
            default: .seconds(7 * 86_400), at: \.nats.streamMaxAge,
            help:
                "SIGNALS and FEEDBACK keep a message at most this long; `streams ensure` sets it. Must stay at least a day below `lifecycle.ledger_retention_days`, or the daemon refuses to start"
        ),
        Setting(
            "postgres.url", environment: "DATABASE_URL", .text(nonEmpty: true, secret: true),
            default: "postgresql:///banditd", at: \.postgres.url,
            help: "libpq conninfo (`host=… dbname=…`) or URI (`postgresql://user:pw@host/db`)"),
        Setting(
            "postgres.migrate_on_start", environment: "BANDITD_MIGRATE_ON_START", .boolean, default: true,
            at: \.postgres.migrateOnStart, help: "`banditd run` applies pending migrations before it starts"),
        Setting(
            "processing.batch_size", environment: "BANDITD_BATCH_SIZE", .integer(1...10_000), default: 384,
            at: \.processing.batchSize, help: "messages per transaction (per apply lane)"),
        Setting(
            "processing.max_wait_ms", environment: "BANDITD_MAX_WAIT_MS", .milliseconds(1...60_000),
            default: .milliseconds(500), at: \.processing.maxWait, help: "how long one pull waits for a first message"),
        Setting(
            "processing.workers_per_consumer", environment: "BANDITD_WORKERS_PER_CONSUMER", .integer(1...64),
            default: 1, at: \.processing.workersPerConsumer,
            help: "fetch loops per consumer (each pull of a worker asks for `batch_size × apply_lanes` messages)"),
        Setting(
            "processing.apply_lanes", environment: "BANDITD_APPLY_LANES", .integer(1...16), default: 3,
            at: \.processing.applyLanes,
            help:
                "transactions in flight per worker, each on its own PostgreSQL session; a worker's messages are split among them by user_id"
        ),
        Setting(
            "processing.max_payload_bytes", environment: nil, .integer(256...(8 << 20)), default: 65536,
            at: \.processing.maxPayloadBytes, help: "larger bodies are dead-lettered as `payload.too_large`"),
        Setting(
            "processing.shutdown_grace_s", environment: "BANDITD_SHUTDOWN_GRACE_S", .seconds(1...3600),
            default: .seconds(20), at: \.processing.shutdownGrace,
            help: "how long shutdown may take to settle in-flight batches"),
        Setting(
            "processing.early_reward_wait_s", environment: "BANDITD_EARLY_REWARD_WAIT_S", .seconds(1...86_400),
            default: .seconds(120), at: \.processing.earlyRewardWait,
            help:
                "how long a reward whose decision has not arrived is kept (parked in PostgreSQL, acked) before it is dead-lettered as `max_deliveries`; never while the signals consumer is held"
        ),
        Setting(
            "lifecycle.ledger_retention_days", environment: "BANDITD_LEDGER_RETENTION_DAYS", .integer(2...3650),
            default: 14, at: \.lifecycle.ledgerRetentionDays,
            help:
                "`processed_events` rows older than this are removed by the daemon (in slices, one daemon at a time); the streams' max_age must stay a day below it"
        ),
        Setting(
            "lifecycle.decisions_retention_days", environment: "BANDITD_DECISIONS_RETENTION_DAYS", .integer(1...36_500),
            default: 90, at: \.lifecycle.decisionsRetentionDays,
            help: "closed (rewarded) decisions older than this are removed; open ones never"),
        Setting(
            "health.socket", environment: "BANDITD_HEALTH_SOCKET", .text(nonEmpty: true),
            default: "/run/banditd/health.sock", at: \.healthSocket, help: "health/metrics unix socket"),
        Setting(
            "metrics.listen", environment: "BANDITD_METRICS_LISTEN", .listenAddress, default: nil,
            at: \.metricsListen,
            help:
                "serve Prometheus text at `/metrics` and the health JSON at `/healthz` over HTTP on this `host:port` (an IP literal or `localhost`; `0.0.0.0:9464` for every interface); absent: off"
        ),
        Setting(
            "log.level", environment: "LOG_LEVEL", .choice(LogLevel.self), default: .info, at: \.logLevel,
            help: "the least severe level logged"),
    ]

    /// The declared default of the setting stored at `keyPath`: the initial value of every
    /// stored property of `BanditdConfiguration`.
    public static func `default`<Value>(for keyPath: WritableKeyPath<BanditdConfiguration, Value>) -> Value {
        guard let setting = all.first(where: { $0.keyPath == keyPath as PartialKeyPath<BanditdConfiguration> }),
            let value = setting.defaultValue as? Value
        else { preconditionFailure("no setting declared for \(keyPath)") }
        return value
    }

    /// The environment variables read, in the order they are applied.
    public static var environmentVariables: [String] { all.compactMap(\.environment) }
}
