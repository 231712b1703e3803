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
        #expect(shipped.metricsListen == defaults.metricsListen)
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
        #expect(defaults.metricsListen == nil, "metrics over HTTP are off unless metrics.listen is set")
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
