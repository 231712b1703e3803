import Foundation

/// How to reach and authenticate to NATS. Secrets live here and nowhere else; `description`
/// redacts them so the value can be logged.
public struct NATSConnectionOptions: Sendable, CustomStringConvertible {
    public struct TLS: Sendable, Equatable {
        /// PEM file of CAs to trust instead of the system roots.
        public var caFile: String?
        /// PEM client certificate chain and key, for servers that verify clients.
        public var certificateFile: String?
        public var keyFile: String?
        /// Overrides the host name checked against the server certificate.
        public var expectedHostname: String?

        public init(
            caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
            expectedHostname: String? = nil
        ) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.expectedHostname = expectedHostname
        }
    }

    public struct NKey: Sendable, Equatable {
        public var publicKey: String
        public var seedFile: String

        public init(publicKey: String, seedFile: String) {
            self.publicKey = publicKey
            self.seedFile = seedFile
        }
    }

    /// Server URLs (`nats://host:port`, `tls://host:port`); the client picks among them and
    /// learns the rest of a cluster from the server.
    public var servers: [String]
    public var user: String?
    public var password: String?
    public var token: String?
    /// A `.creds` file (user JWT + nkey seed), as `nsc` writes it.
    public var credentialsFile: String?
    public var tls: TLS?
    /// NKey authentication (a server `authorization { users: [{nkey: U…}] }`): the user's public
    /// key and a file holding its seed (`SU…`); the seed signs the server's nonce.
    public var nkey: NKey?
    /// The client name the server shows in its connection list.
    public var name: String
    public var connectTimeout: Duration
    /// Wait between reconnect attempts to the same server (cnats adds jitter).
    public var reconnectWait: Duration
    /// -1 keeps reconnecting forever, which is what a daemon wants.
    public var maxReconnectAttempts: Int
    public var pingInterval: Duration

    public init(
        servers: [String] = ["nats://127.0.0.1:4222"],
        user: String? = nil,
        password: String? = nil,
        token: String? = nil,
        credentialsFile: String? = nil,
        tls: TLS? = nil,
        name: String = "banditd",
        connectTimeout: Duration = .seconds(2),
        reconnectWait: Duration = .milliseconds(250),
        maxReconnectAttempts: Int = -1,
        pingInterval: Duration = .seconds(10)
    ) {
        self.servers = servers
        self.user = user
        self.password = password
        self.token = token
        self.credentialsFile = credentialsFile
        self.tls = tls
        self.name = name
        self.connectTimeout = connectTimeout
        self.reconnectWait = reconnectWait
        self.maxReconnectAttempts = maxReconnectAttempts
        self.pingInterval = pingInterval
    }

    public var description: String {
        var parts = ["servers=\(servers.map(Self.redactingURL).joined(separator: ","))"]
        if let user { parts.append("user=\(user)") }
        if password != nil { parts.append("password=<redacted>") }
        if token != nil { parts.append("token=<redacted>") }
        if let credentialsFile { parts.append("creds=\(credentialsFile)") }
        if let nkey { parts.append("nkey=\(nkey.publicKey)") }
        if tls != nil { parts.append("tls=on") }
        return parts.joined(separator: " ")
    }

    /// `nats://user:secret@host:4222` → `nats://user:<redacted>@host:4222`; a lone token in the
    /// user position is redacted as a whole.
    public static func redactingURL(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://"), let at = url.range(of: "@", options: .backwards),
            schemeEnd.upperBound <= at.lowerBound
        else { return url }
        let userInfo = url[schemeEnd.upperBound..<at.lowerBound]
        let redacted: String
        if let colon = userInfo.firstIndex(of: ":") {
            redacted = "\(userInfo[..<colon]):<redacted>"
        } else {
            redacted = "<redacted>"
        }
        return url[..<schemeEnd.upperBound] + redacted + url[at.lowerBound...]
    }
}

extension Duration {
    /// Whole milliseconds, the unit of cnats timeouts (rounded up so 1µs is not 0 = "no wait").
    var natsMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        let remainder = attoseconds % 1_000_000_000_000_000
        return remainder > 0 ? millis + 1 : millis
    }

    /// Nanoseconds, the unit of the JetStream API (`expires`, `ack_wait`, nak `delay`).
    var natsNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    init(natsNanoseconds nanos: Int64) {
        self = .nanoseconds(nanos)
    }
}
