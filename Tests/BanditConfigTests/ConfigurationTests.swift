import BanditConfig
import BanditCore
import Foundation
import Testing

private func parse(_ json: String) throws(ConfigurationError) -> BanditdConfiguration {
    try ConfigurationLoader.parse(json: Array(json.utf8))
}

private func parseError(_ json: String) -> ConfigurationError? {
    do {
        _ = try parse(json)
        return nil
    } catch {
        return error
    }
}

private func environmentError(_ environment: [String: String]) -> ConfigurationError? {
    var configuration = BanditdConfiguration()
    do {
        try ConfigurationLoader.applyEnvironment(environment, to: &configuration)
        return nil
    } catch {
        return error
    }
}

struct ShippedConfigurationTests {
    static let shippedFile = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/banditd.json").path

    @Test func theShippedFileEqualsTheBuiltInDefaults() throws {
        let shipped = try ConfigurationLoader.load(file: Self.shippedFile, environment: [:])
        let defaults = BanditdConfiguration()
        #expect(shipped.nats == defaults.nats)
        #expect(shipped.postgres == defaults.postgres)
        #expect(shipped.processing == defaults.processing)
        #expect(shipped.healthSocket == defaults.healthSocket)
        #expect(shipped.logLevel == defaults.logLevel)
        #expect(shipped.policies.policies == defaults.policies.policies)
    }

    @Test func defaultsFollowTheContract() {
        let defaults = BanditdConfiguration()
        #expect(defaults.nats.durablePrefix == "feature-pipeline")
        #expect(defaults.nats.signalsConsumer == "feature-pipeline-signals")
        #expect(defaults.nats.feedbackConsumer == "feature-pipeline-feedback")
        #expect(defaults.nats.maxDeliver == 5)
        #expect(defaults.nats.ackWait == .seconds(30))
        #expect(defaults.processing.maxPayloadBytes == 65536)
        #expect(defaults.healthSocket == "/run/banditd/health.sock")
        #expect(defaults.policies.policies.map(\.name) == ["linucb_v1", "egreedy_v1", "egreedy_v2", "routing_v1"])
        #expect(defaults.policies.policies.map(\.dimension) == [5, 7, 12, 8])
    }

    @Test func aMissingFileIsAnErrorNamingIt() {
        #expect(
            throws: ConfigurationError(key: "/nonexistent/banditd.json", message: "cannot read the configuration file")
        ) {
            _ = try ConfigurationLoader.load(file: "/nonexistent/banditd.json", environment: [:])
        }
    }
}

struct ConfigurationFileTests {
    @Test func anEmptyObjectGivesTheDefaults() throws {
        #expect(try parse("{}").nats == BanditdConfiguration().nats)
    }

    @Test func valuesAreRead() throws {
        let configuration = try parse(
            """
            {"nats": {"servers": ["nats://a:1", "nats://b:2"], "max_deliver": 7, "ack_wait_s": 10, "user": "u",
                      "password": "p", "creds_file": "/etc/banditd/nats.creds"},
             "postgres": {"url": "host=/tmp dbname=x", "migrate_on_start": false},
             "processing": {"batch_size": 64, "max_wait_ms": 25, "workers_per_consumer": 2},
             "health": {"socket": "/tmp/h.sock"}, "log": {"level": "debug"}}
            """)
        #expect(configuration.nats.servers == ["nats://a:1", "nats://b:2"])
        #expect(configuration.nats.maxDeliver == 7)
        #expect(configuration.nats.ackWait == .seconds(10))
        #expect(configuration.nats.user == "u")
        #expect(configuration.nats.password == "p")
        #expect(configuration.nats.credentialsFile == "/etc/banditd/nats.creds")
        #expect(configuration.postgres.url == "host=/tmp dbname=x")
        #expect(!configuration.postgres.migrateOnStart)
        #expect(configuration.processing.batchSize == 64)
        #expect(configuration.processing.maxWait == .milliseconds(25))
        #expect(configuration.processing.workersPerConsumer == 2)
        #expect(configuration.healthSocket == "/tmp/h.sock")
        #expect(configuration.logLevel == .debug)
    }

    @Test(arguments: [
        ("{\"nats\": {\"max_deliver\": 0}}", "nats.max_deliver"),
        ("{\"nats\": {\"max_deliver\": 2.5}}", "nats.max_deliver"),
        ("{\"nats\": {\"max_deliver\": \"5\"}}", "nats.max_deliver"),
        ("{\"nats\": {\"servers\": []}}", "nats.servers"),
        ("{\"nats\": {\"servers\": \"nats://x\"}}", "nats.servers"),
        ("{\"nats\": {\"durable_prefix\": \"a.b\"}}", "nats.durable_prefix"),
        ("{\"nats\": {\"durable_prefix\": \"a b\"}}", "nats.durable_prefix"),
        ("{\"nats\": {\"ack_wait_s\": 0}}", "nats.ack_wait_s"),
        ("{\"nats\": {\"stream_replicas\": 9}}", "nats.stream_replicas"),
        ("{\"processing\": {\"batch_size\": 0}}", "processing.batch_size"),
        ("{\"processing\": {\"batch_size\": 100000}}", "processing.batch_size"),
        ("{\"processing\": {\"max_payload_bytes\": 10}}", "processing.max_payload_bytes"),
        ("{\"postgres\": {\"migrate_on_start\": \"yes\"}}", "postgres.migrate_on_start"),
        ("{\"postgres\": {\"url\": \"\"}}", "postgres.url"),
        ("{\"log\": {\"level\": \"verbose\"}}", "log.level"),
        ("{\"nats\": {\"max_delivery\": 5}}", "nats.max_delivery"),
        ("{\"natz\": {}}", "natz"),
        ("{\"nats\": 5}", "nats"),
        (
            "{\"policies\": [{\"name\": \"p\", \"algorithm\": \"linucb\", \"dimension\": 0, \"version\": \"1.0.0\"}]}",
            "policies[0].dimension"
        ),
        (
            "{\"policies\": [{\"name\": \"p\", \"algorithm\": \"linucb\", \"dimension\": 3, \"lambda\": 0, \"version\": \"1.0.0\"}]}",
            "policies[0].lambda"
        ),
        (
            "{\"policies\": [{\"name\": \"p\", \"algorithm\": \"egreedy\", \"dimension\": 3, \"epsilon\": 2, \"version\": \"1.0.0\"}]}",
            "policies[0].epsilon"
        ),
        (
            "{\"policies\": [{\"name\": \"p\", \"algorithm\": \"linucb\", \"dimension\": 3, \"alpha\": -1, \"version\": \"1.0.0\"}]}",
            "policies[0].alpha"
        ),
        (
            "{\"policies\": [{\"name\": \"p\", \"algorithm\": \"linucb\", \"dimension\": 3, \"version\": \"one\"}]}",
            "policies[0].version"
        ),
        (
            "{\"policies\": [{\"name\": \"p\", \"algorithm\": \"thompson\", \"dimension\": 3, \"version\": \"1.0.0\"}]}",
            "policies[0].algorithm"
        ),
        ("{\"policies\": [{\"algorithm\": \"linucb\", \"dimension\": 3, \"version\": \"1.0.0\"}]}", "policies[0].name"),
        (
            "{\"policies\": [{\"name\": \"p\", \"algorithm\": \"linucb\", \"dimension\": 3, \"version\": \"1.0.0\", \"x\": 1}]}",
            "policies[0].x"
        ),
    ])
    func aBadValueIsAnErrorNamingTheKey(json: String, key: String) {
        #expect(parseError(json)?.key == key)
    }

    @Test func invalidJSONIsAnError() {
        #expect(parseError("{\"nats\": ")?.message.contains("not valid JSON") == true)
        #expect(parseError("[1, 2]")?.message.contains("top level") == true)
    }

    @Test func secretsAreNeverEchoedInErrors() {
        let error = parseError("{\"nats\": {\"password\": 12345678}}")
        #expect(error?.key == "nats.password")
        #expect(error?.description.contains("12345678") == false)
    }
}

struct EnvironmentOverrideTests {
    @Test func contractVariablesOverrideTheFile() throws {
        var configuration = try parse("{\"nats\": {\"max_deliver\": 7}}")
        try ConfigurationLoader.applyEnvironment(
            [
                "NATS_URL": "nats://n1:4222, nats://n2:4222", "NATS_DURABLE_PREFIX": "fp", "NATS_MAX_DELIVER": "9",
                "DATABASE_URL": "postgresql://u:pw@db/banditd", "BANDITD_HEALTH_SOCKET": "/tmp/x.sock",
                "LOG_LEVEL": "WARNING", "NATS_USER": "u", "NATS_PASSWORD": "p", "NATS_TOKEN": "t",
                "NATS_CREDS": "/c.creds", "NATS_TLS_CA": "/ca.pem", "NATS_TLS_CERT": "/c.pem", "NATS_TLS_KEY": "/k.pem",
                "BANDITD_MIGRATE_ON_START": "false", "BANDITD_BATCH_SIZE": "32", "BANDITD_MAX_WAIT_MS": "5",
                "BANDITD_WORKERS_PER_CONSUMER": "3", "NATS_MAX_ACK_PENDING": "77", "NATS_STREAM_REPLICAS": "3",
                "NATS_ACK_WAIT_S": "7", "BANDITD_SHUTDOWN_GRACE_S": "9",
            ], to: &configuration)
        #expect(configuration.nats.servers == ["nats://n1:4222", "nats://n2:4222"])
        #expect(configuration.nats.durablePrefix == "fp")
        #expect(configuration.nats.maxDeliver == 9)
        #expect(configuration.postgres.url == "postgresql://u:pw@db/banditd")
        #expect(configuration.healthSocket == "/tmp/x.sock")
        #expect(configuration.logLevel == .warning)
        #expect(configuration.nats.user == "u")
        #expect(configuration.nats.password == "p")
        #expect(configuration.nats.token == "t")
        #expect(configuration.nats.credentialsFile == "/c.creds")
        #expect(configuration.nats.tlsCAFile == "/ca.pem")
        #expect(configuration.nats.tlsCertificateFile == "/c.pem")
        #expect(configuration.nats.tlsKeyFile == "/k.pem")
        #expect(!configuration.postgres.migrateOnStart)
        #expect(configuration.processing.batchSize == 32)
        #expect(configuration.processing.maxWait == .milliseconds(5))
        #expect(configuration.processing.workersPerConsumer == 3)
        #expect(configuration.nats.maxAckPending == 77)
        #expect(configuration.nats.streamReplicas == 3)
        #expect(configuration.nats.ackWait == .seconds(7))
        #expect(configuration.processing.shutdownGrace == .seconds(9))
    }

    @Test func anEmptyVariableCountsAsUnset() throws {
        var configuration = BanditdConfiguration()
        try ConfigurationLoader.applyEnvironment(["NATS_MAX_DELIVER": "", "DATABASE_URL": ""], to: &configuration)
        #expect(configuration.nats.maxDeliver == 5)
        #expect(configuration.postgres.url == BanditdConfiguration().postgres.url)
    }

    @Test(arguments: [
        ("NATS_MAX_DELIVER", "zero"), ("NATS_MAX_DELIVER", "0"), ("NATS_MAX_DELIVER", "5000"),
        ("NATS_DURABLE_PREFIX", "a.b"), ("LOG_LEVEL", "loud"), ("NATS_URL", " , "),
        ("BANDITD_MIGRATE_ON_START", "maybe"), ("BANDITD_BATCH_SIZE", "-1"), ("NATS_STREAM_REPLICAS", "x"),
    ])
    func aBadVariableIsAnErrorNamingIt(name: String, value: String) {
        #expect(environmentError([name: value])?.key == name)
    }

    @Test func theDatabasePasswordNeverAppearsInAnError() {
        // DATABASE_URL is taken as is (libpq validates it); errors elsewhere never print it.
        let error = environmentError(["DATABASE_URL": "postgresql://u:hunter2@db/x", "NATS_MAX_DELIVER": "bad"])
        #expect(error?.key == "NATS_MAX_DELIVER")
        #expect(error?.description.contains("hunter2") == false)
    }
}

struct StrictFileTests {
    @Test(arguments: [
        ("{\"nats\": {\"max_deliver\": 5, \"max_deliver\": 7}}", "nats.max_deliver"),
        ("{\"nats\": {}, \"nats\": {}}", "nats"),
        ("{\"log\": {\"level\": \"info\", \"le\\u0076el\": \"debug\"}}", "log.level"),
        (
            "{\"policies\": [{\"name\": \"p\", \"algorithm\": \"linucb\", \"dimension\": 3, \"version\": \"1.0.0\", \"name\": \"q\"}]}",
            "policies[0].name"
        ),
        ("{\"unknown\": {\"a\": 1, \"a\": 2}}", "unknown.a"),
    ])
    func aDuplicateKeyAnywhereIsAnErrorNamingIt(json: String, key: String) {
        let error = parseError(json)
        #expect(error?.key == key)
        #expect(error?.message == "duplicate key (each key may appear once)")
    }

    @Test func anEmptyPolicyListIsAnError() {
        let error = parseError("{\"policies\": []}")
        #expect(error?.key == "policies")
        #expect(error?.message.hasPrefix("must list at least one policy") == true)
    }

    @Test func integerSettingsNeedIntegerSyntax() {
        #expect(parseError("{\"nats\": {\"max_deliver\": 5.0}}")?.key == "nats.max_deliver")
        #expect(parseError("{\"nats\": {\"max_deliver\": 5e0}}")?.key == "nats.max_deliver")
        #expect(
            parseError(
                "{\"policies\": [{\"name\": \"p\", \"algorithm\": \"linucb\", \"dimension\": 3.0, \"version\": \"1.0.0\"}]}"
            )?.key == "policies[0].dimension")
        #expect((try? parse("{\"nats\": {\"max_deliver\": 7}}"))?.nats.maxDeliver == 7)
    }

    @Test func theFileIsStrictJSON() {
        for text in [
            "\u{FEFF}{}", "{\"a\":1,}", "{\"nats\": {\"user\": \"\\uD800\"}}", "{} x",
            "[" + String(repeating: "[", count: 70),
        ] {
            #expect(parseError(text) != nil, "\(text)")
        }
    }

    @Test func errorMessagesComeFromTheDeclaration() {
        #expect(parseError("{\"nats\": {\"max_deliver\": 0}}")?.message == "must be an integer in 1…1000 (got 0)")
        #expect(environmentError(["NATS_MAX_DELIVER": "0"])?.message == "must be an integer in 1…1000 (got \"0\")")
        #expect(
            parseError("{\"log\": {\"level\": \"loud\"}}")?.message
                == "must be one of trace, debug, info, notice, warning, error, critical (got \"loud\")")
    }
}

struct DeclarationTests {
    @Test func everySettingHasAUniqueKeyAndEnvironmentVariable() {
        let keys = ConfigurationSettings.all.map(\.key)
        #expect(Set(keys).count == keys.count)
        let variables = ConfigurationSettings.all.compactMap(\.environment)
        #expect(Set(variables).count == variables.count)
        #expect(ConfigurationLoader.environmentVariables == variables)
        // CONTRACT section 6 names these at least.
        for name in [
            "NATS_URL", "NATS_DURABLE_PREFIX", "NATS_MAX_DELIVER", "DATABASE_URL", "BANDITD_HEALTH_SOCKET", "LOG_LEVEL",
        ] {
            #expect(variables.contains(name))
        }
    }

    /// Every stored value of the configuration (but the policies) is filled by one declaration.
    @Test func everyStoredPropertyIsDeclaredOnce() {
        let configuration = BanditdConfiguration()
        var leaves = 0
        for child in Mirror(reflecting: configuration).children where child.label != "policies" {
            let nested = Mirror(reflecting: child.value)
            leaves += nested.displayStyle == .struct ? nested.children.count : 1
        }
        #expect(leaves == ConfigurationSettings.all.count)
    }

    @Test func eachDeclarationReadsItsOwnKeyFromTheFileAndItsVariableFromTheEnvironment() throws {
        for setting in ConfigurationSettings.all {
            // The declared default, written back into the file, parses to the defaults.
            let path = setting.key.split(separator: ".").map(String.init)
            let value = try #require(sampleJSON(setting))
            let json = path.count == 2 ? "{\"\(path[0])\": {\"\(path[1])\": \(value)}}" : "{\"\(path[0])\": \(value)}"
            #expect((try? parse(json)) != nil, "\(json)")
            #expect(
                parseError(json.replacingOccurrences(of: "\"\(path.last!)\"", with: "\"\(path.last!)_typo\""))?.key
                    != nil)
        }
    }

    func sampleJSON(_ setting: Setting) -> String? {
        switch setting.type {
        case let type where type.hasPrefix("integer"): String(setting.defaultText)
        case "boolean": setting.defaultText
        case let type where type.hasPrefix("list"): setting.defaultText
        case let type where type.hasPrefix("host:port"): "\"127.0.0.1:9464\""
        default: "\"\(setting.defaultText == "none" ? "x" : setting.defaultText)\""
        }
    }

    @Test func policyDeclarationsAndTheRegistryAgreeOnTheBounds() {
        func registryAccepts(dimension: Int = 3, lambda: Double = 1, alpha: Double? = nil, epsilon: Double? = nil)
            -> Bool
        {
            let algorithm: PolicyAlgorithm = epsilon == nil ? .linucb : .egreedy
            return
                (try? PolicyRegistry([
                    PolicyDefinition(
                        name: "p", algorithm: algorithm, dimension: dimension, lambda: lambda, alpha: alpha,
                        epsilon: epsilon)
                ])) != nil
        }
        func fileAccepts(_ member: String, _ value: String, algorithm: String = "linucb") -> Bool {
            var members = ["\"name\": \"p\"", "\"algorithm\": \"\(algorithm)\"", "\"version\": \"1.0.0\""]
            if member != "dimension" { members.append("\"dimension\": 3") }
            members.append("\"\(member)\": \(value)")
            return parseError("{\"policies\": [{" + members.joined(separator: ", ") + "}]}") == nil
        }
        for (dimension, ok) in [(0, false), (1, true), (64, true), (65, false)] {
            #expect(registryAccepts(dimension: dimension) == ok)
            #expect(fileAccepts("dimension", "\(dimension)") == ok)
        }
        for (lambda, ok) in [(0.0, false), (-1, false), (1e-9, true), (5, true)] {
            #expect(registryAccepts(lambda: lambda) == ok)
            #expect(fileAccepts("lambda", "\(lambda)") == ok)
        }
        for (alpha, ok) in [(-0.1, false), (0.0, true), (3, true)] {
            #expect(registryAccepts(alpha: alpha) == ok)
            #expect(fileAccepts("alpha", "\(alpha)") == ok)
        }
        for (epsilon, ok) in [(-0.1, false), (0.0, true), (1, true), (1.1, false)] {
            #expect(registryAccepts(epsilon: epsilon) == ok)
            #expect(fileAccepts("epsilon", "\(epsilon)", algorithm: "egreedy") == ok)
        }
        func registryAccepts(rewardWait: Int? = nil, defaultReward: Double = 0, halfLife: Double? = nil) -> Bool {
            (try? PolicyRegistry([
                PolicyDefinition(
                    name: "p", algorithm: .linucb, dimension: 3, rewardWaitSeconds: rewardWait,
                    defaultReward: defaultReward, halfLifeSeconds: halfLife)
            ])) != nil
        }
        // reward_wait_s: 0 in the file means no window (nil), like absent.
        #expect(fileAccepts("reward_wait_s", "0"))
        for (wait, ok) in [(-1, false), (1, true), (315_360_000, true), (315_360_001, false)] {
            #expect(registryAccepts(rewardWait: wait) == ok)
            #expect(fileAccepts("reward_wait_s", "\(wait)") == ok)
        }
        for (reward, ok) in [(-1.0, true), (1, true), (1.5, false), (-1.01, false)] {
            #expect(registryAccepts(defaultReward: reward) == ok)
            #expect(fileAccepts("default_reward", "\(reward)") == ok)
        }
        for (halfLife, ok) in [(0.5, false), (1, true), (3.2e9, true), (3.3e9, false)] {
            #expect(registryAccepts(halfLife: halfLife) == ok)
            #expect(fileAccepts("half_life_s", "\(halfLife)") == ok)
        }
    }
}

struct ConfigurationReferenceTests {
    static let readme = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/README.md")

    /// Fails while config/README.md's tables differ from the declarations; with
    /// BANDITD_UPDATE_CONFIG_README=1 it rewrites them first.
    @Test func theReadmeTablesAreGeneratedFromTheDeclarations() throws {
        let document = try String(contentsOf: Self.readme, encoding: .utf8)
        let updated = try #require(
            ConfigurationReference.updating(document), "config/README.md has no generated section")
        if ProcessInfo.processInfo.environment["BANDITD_UPDATE_CONFIG_README"] == "1", updated != document {
            try Data(updated.utf8).write(to: Self.readme)
            return
        }
        #expect(
            updated == document,
            "config/README.md is stale: run BANDITD_UPDATE_CONFIG_README=1 swift test --filter ConfigurationReferenceTests"
        )
        for setting in ConfigurationSettings.all { #expect(document.contains("| `\(setting.key)` |")) }
    }
}

/// `metrics.listen` (CONTRACT section 11): absent means off; a host must be an IP literal or
/// `localhost`, written out even for every interface.
struct MetricsListenTests {
    @Test(arguments: [
        ("127.0.0.1:9464", ListenAddress(host: "127.0.0.1", port: 9464)),
        ("0.0.0.0:9100", ListenAddress(host: "0.0.0.0", port: 9100)),
        ("[::1]:9464", ListenAddress(host: "::1", port: 9464)),
        ("[::]:1", ListenAddress(host: "::", port: 1)),
        ("localhost:65535", ListenAddress(host: "localhost", port: 65535)),
    ])
    func aHostAndPortAreRead(text: String, expected: ListenAddress) throws {
        let configuration = try parse("{\"metrics\": {\"listen\": \"\(text)\"}}")
        #expect(configuration.metricsListen == expected)
        #expect(configuration.metricsListen?.description == text)
    }

    @Test func theEnvironmentOverridesTheFile() throws {
        var configuration = try parse("{\"metrics\": {\"listen\": \"127.0.0.1:9464\"}}")
        try ConfigurationLoader.applyEnvironment(["BANDITD_METRICS_LISTEN": "[::1]:9000"], to: &configuration)
        #expect(configuration.metricsListen == ListenAddress(host: "::1", port: 9000))
        #expect(ConfigurationLoader.environmentVariables.contains("BANDITD_METRICS_LISTEN"))
    }

    @Test func absentOrNullMeansOff() throws {
        #expect(try parse("{}").metricsListen == nil)
        #expect(try parse("{\"metrics\": {}}").metricsListen == nil)
        #expect(try parse("{\"metrics\": {\"listen\": null}}").metricsListen == nil)
    }

    @Test(arguments: [
        "9464", ":9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:http",
        "::1:9464", "[::1]9464", "[::1", "metrics.example.com:9464", "256.0.0.1:9464", "",
    ])
    func aBadAddressIsAnErrorNamingTheKey(text: String) {
        let error = parseError("{\"metrics\": {\"listen\": \"\(text)\"}}")
        #expect(error?.key == "metrics.listen")
        #expect(
            environmentError(["BANDITD_METRICS_LISTEN": text.isEmpty ? "x" : text])?.key == "BANDITD_METRICS_LISTEN")
    }

    @Test func anUnknownMetricsKeyIsAnError() {
        #expect(parseError("{\"metrics\": {\"listen_on\": \"127.0.0.1:9464\"}}")?.key == "metrics.listen_on")
    }
}
