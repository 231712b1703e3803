import BanditCore
import Foundation

/// Reads the JSON configuration file (optional) and then the environment overrides of CONTRACT
/// section 6. Unknown keys are errors (a typo must not silently fall back to a default), and every
/// error names the key or variable at fault.
public enum ConfigurationLoader {
    /// The environment variables read, in the order they are applied. Documented in the README.
    public static let environmentVariables = [
        "NATS_URL", "NATS_USER", "NATS_PASSWORD", "NATS_TOKEN", "NATS_CREDS", "NATS_TLS_CA", "NATS_TLS_CERT",
        "NATS_TLS_KEY", "NATS_DURABLE_PREFIX", "NATS_MAX_DELIVER", "NATS_ACK_WAIT_S", "NATS_MAX_ACK_PENDING",
        "NATS_STREAM_REPLICAS",
        "DATABASE_URL", "BANDITD_MIGRATE_ON_START", "BANDITD_BATCH_SIZE", "BANDITD_MAX_WAIT_MS",
        "BANDITD_WORKERS_PER_CONSUMER", "BANDITD_SHUTDOWN_GRACE_S", "BANDITD_EARLY_REWARD_WAIT_S",
        "BANDITD_HEALTH_SOCKET", "BANDITD_METRICS_LISTEN", "LOG_LEVEL",
    ]

    public static func load(
        file: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> BanditdConfiguration {
        var configuration = BanditdConfiguration()
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigurationError(key: file, message: "cannot read the configuration file")
            }
            configuration = try parse(json: Array(data), source: file)
        }
        try applyEnvironment(environment, to: &configuration)
        return configuration
    }

    /// Parses a configuration file's JSON text on top of the defaults.
    public static func parse(json: [UInt8], source: String = "configuration") throws(ConfigurationError)
        -> BanditdConfiguration
    {
        let root: [String: JSONValue]
        do {
            guard case .object(let object) = try JSONDecoder().decode(JSONValue.self, from: Data(json)) else {
                throw ConfigurationError(key: source, message: "the top level must be a JSON object")
            }
            root = object
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(key: source, message: "not valid JSON (\(Self.describe(error)))")
        }
        var configuration = BanditdConfiguration()
        var top = ObjectReader(root, path: "")
        if var nats = try top.object("nats") {
            try nats.read("servers", into: &configuration.nats.servers) { try $0.stringArray(nonEmpty: true) }
            try nats.readOptional("user", into: &configuration.nats.user) { try $0.string() }
            try nats.readOptional("password", into: &configuration.nats.password) { try $0.string(secret: true) }
            try nats.readOptional("token", into: &configuration.nats.token) { try $0.string(secret: true) }
            try nats.readOptional("creds_file", into: &configuration.nats.credentialsFile) { try $0.string() }
            try nats.readOptional("tls_ca_file", into: &configuration.nats.tlsCAFile) { try $0.string() }
            try nats.readOptional("tls_cert_file", into: &configuration.nats.tlsCertificateFile) { try $0.string() }
            try nats.readOptional("tls_key_file", into: &configuration.nats.tlsKeyFile) { try $0.string() }
            try nats.read("durable_prefix", into: &configuration.nats.durablePrefix) { try $0.natsName() }
            try nats.read("max_deliver", into: &configuration.nats.maxDeliver) { try $0.integer(in: 1...1000) }
            try nats.read("ack_wait_s", into: &configuration.nats.ackWait) { .seconds(try $0.integer(in: 1...3600)) }
            try nats.read("max_ack_pending", into: &configuration.nats.maxAckPending) {
                try $0.integer(in: 1...1_000_000)
            }
            try nats.read("stream_replicas", into: &configuration.nats.streamReplicas) { try $0.integer(in: 1...5) }
            try nats.read("connect_timeout_ms", into: &configuration.nats.connectTimeout) {
                .milliseconds(try $0.integer(in: 1...600_000))
            }
            try nats.finish()
        }
        if var postgres = try top.object("postgres") {
            try postgres.read("url", into: &configuration.postgres.url) { try $0.string(secret: true, nonEmpty: true) }
            try postgres.read("migrate_on_start", into: &configuration.postgres.migrateOnStart) { try $0.bool() }
            try postgres.finish()
        }
        if var processing = try top.object("processing") {
            try processing.read("batch_size", into: &configuration.processing.batchSize) {
                try $0.integer(in: 1...10_000)
            }
            try processing.read("max_wait_ms", into: &configuration.processing.maxWait) {
                .milliseconds(try $0.integer(in: 1...60_000))
            }
            try processing.read("workers_per_consumer", into: &configuration.processing.workersPerConsumer) {
                try $0.integer(in: 1...64)
            }
            try processing.read("max_payload_bytes", into: &configuration.processing.maxPayloadBytes) {
                try $0.integer(in: 256...(8 << 20))
            }
            try processing.read("shutdown_grace_s", into: &configuration.processing.shutdownGrace) {
                .seconds(try $0.integer(in: 1...3600))
            }
            try processing.read("early_reward_wait_s", into: &configuration.processing.earlyRewardWait) {
                .seconds(try $0.integer(in: 1...86_400))
            }
            try processing.finish()
        }
        if var health = try top.object("health") {
            try health.read("socket", into: &configuration.healthSocket) { try $0.string(nonEmpty: true) }
            try health.finish()
        }
        if var metrics = try top.object("metrics") {
            try metrics.readOptional("listen", into: &configuration.metricsListen) {
                try ListenAddress(parsing: try $0.string(nonEmpty: true))
            }
            try metrics.finish()
        }
        if var log = try top.object("log") {
            try log.read("level", into: &configuration.logLevel) { try $0.enumeration(LogLevel.self) }
            try log.finish()
        }
        if let policies = try top.array("policies") {
            configuration.policies = try parsePolicies(policies)
        }
        try top.finish()
        return configuration
    }

    /// Applies the environment overrides; an empty variable counts as unset.
    public static func applyEnvironment(
        _ environment: [String: String], to configuration: inout BanditdConfiguration
    ) throws(ConfigurationError) {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        func integer(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
                throw ConfigurationError(
                    key: name,
                    message: "must be an integer in \(range.lowerBound)…\(range.upperBound) (got \"\(text)\")")
            }
            return number
        }
        if let urls = value("NATS_URL") {
            let servers = urls.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
            guard !servers.isEmpty else {
                throw ConfigurationError(key: "NATS_URL", message: "must list at least one server URL")
            }
            configuration.nats.servers = servers
        }
        if let user = value("NATS_USER") { configuration.nats.user = user }
        if let password = value("NATS_PASSWORD") { configuration.nats.password = password }
        if let token = value("NATS_TOKEN") { configuration.nats.token = token }
        if let creds = value("NATS_CREDS") { configuration.nats.credentialsFile = creds }
        if let ca = value("NATS_TLS_CA") { configuration.nats.tlsCAFile = ca }
        if let cert = value("NATS_TLS_CERT") { configuration.nats.tlsCertificateFile = cert }
        if let key = value("NATS_TLS_KEY") { configuration.nats.tlsKeyFile = key }
        if let prefix = value("NATS_DURABLE_PREFIX") {
            do {
                configuration.nats.durablePrefix = try JSONValue.string(prefix).natsName()
            } catch {
                throw ConfigurationError(key: "NATS_DURABLE_PREFIX", message: error.message)
            }
        }
        if let maxDeliver = try integer("NATS_MAX_DELIVER", in: 1...1000) { configuration.nats.maxDeliver = maxDeliver }
        if let ackWait = try integer("NATS_ACK_WAIT_S", in: 1...3600) { configuration.nats.ackWait = .seconds(ackWait) }
        if let pending = try integer("NATS_MAX_ACK_PENDING", in: 1...1_000_000) {
            configuration.nats.maxAckPending = pending
        }
        if let replicas = try integer("NATS_STREAM_REPLICAS", in: 1...5) {
            configuration.nats.streamReplicas = replicas
        }
        if let url = value("DATABASE_URL") { configuration.postgres.url = url }
        if let migrate = value("BANDITD_MIGRATE_ON_START") {
            switch migrate.lowercased() {
            case "1", "true", "yes", "on": configuration.postgres.migrateOnStart = true
            case "0", "false", "no", "off": configuration.postgres.migrateOnStart = false
            default:
                throw ConfigurationError(
                    key: "BANDITD_MIGRATE_ON_START", message: "must be true or false (got \"\(migrate)\")")
            }
        }
        if let batch = try integer("BANDITD_BATCH_SIZE", in: 1...10_000) { configuration.processing.batchSize = batch }
        if let wait = try integer("BANDITD_MAX_WAIT_MS", in: 1...60_000) {
            configuration.processing.maxWait = .milliseconds(wait)
        }
        if let workers = try integer("BANDITD_WORKERS_PER_CONSUMER", in: 1...64) {
            configuration.processing.workersPerConsumer = workers
        }
        if let grace = try integer("BANDITD_SHUTDOWN_GRACE_S", in: 1...3600) {
            configuration.processing.shutdownGrace = .seconds(grace)
        }
        if let wait = try integer("BANDITD_EARLY_REWARD_WAIT_S", in: 1...86_400) {
            configuration.processing.earlyRewardWait = .seconds(wait)
        }
        if let socket = value("BANDITD_HEALTH_SOCKET") { configuration.healthSocket = socket }
        if let listen = value("BANDITD_METRICS_LISTEN") {
            do {
                configuration.metricsListen = try ListenAddress(parsing: listen)
            } catch {
                throw ConfigurationError(key: "BANDITD_METRICS_LISTEN", message: error.message)
            }
        }
        if let level = value("LOG_LEVEL") {
            guard let parsed = LogLevel(rawValue: level.lowercased()) else {
                throw ConfigurationError(
                    key: "LOG_LEVEL",
                    message:
                        "must be one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", ")) (got \"\(level)\")"
                )
            }
            configuration.logLevel = parsed
        }
    }

    private static func parsePolicies(_ entries: [JSONValue]) throws(ConfigurationError) -> PolicyRegistry {
        var definitions: [PolicyDefinition] = []
        for (index, entry) in entries.enumerated() {
            let path = "policies[\(index)]"
            guard case .object(let object) = entry else {
                throw ConfigurationError(key: path, message: "must be an object")
            }
            var reader = ObjectReader(object, path: path)
            guard let name = try reader.required("name", { try $0.string(nonEmpty: true) }),
                let algorithm = try reader.required("algorithm", { try $0.enumeration(PolicyAlgorithm.self) }),
                let dimension = try reader.required("dimension", { try $0.integer(in: Int.min...Int.max) }),
                let version = try reader.required("version", { try $0.string(nonEmpty: true) })
            else { preconditionFailure("required() throws when a key is missing") }
            var definition = PolicyDefinition(
                name: name, algorithm: algorithm, dimension: dimension, lambda: 1, alpha: nil, epsilon: nil,
                version: version)
            try reader.read("lambda", into: &definition.lambda) { try $0.number() }
            try reader.readOptional("alpha", into: &definition.alpha) { try $0.number() }
            try reader.readOptional("epsilon", into: &definition.epsilon) { try $0.number() }
            // CONTRACT section 8: 0 (like absent) means no reward wait window.
            try reader.readOptional("reward_wait_s", into: &definition.rewardWaitSeconds) {
                try $0.integer(in: Int.min...Int.max)
            }
            if definition.rewardWaitSeconds == 0 { definition.rewardWaitSeconds = nil }
            try reader.read("default_reward", into: &definition.defaultReward) { try $0.number() }
            try reader.readOptional("half_life_s", into: &definition.halfLifeSeconds) { try $0.number() }
            try reader.finish()
            definitions.append(definition)
        }
        do {
            return try PolicyRegistry(definitions)
        } catch {
            throw ConfigurationError(key: error.key, message: error.message)
        }
    }

    static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
                ?? context.debugDescription
        }
        return "\(error)"
    }
}
