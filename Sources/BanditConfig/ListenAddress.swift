#if canImport(Glibc)
    import Glibc
#endif

/// A TCP address to listen on, as written in `metrics.listen`: `127.0.0.1:9464`, `[::1]:9464`,
/// `0.0.0.0:9464` or `localhost:9464`.
///
/// The host must be an IP literal or `localhost`: no name is resolved at start-up, and an empty
/// host (`:9464`) is refused, so listening on every interface is always written out (`0.0.0.0`
/// or `[::]`).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The IP literal, without brackets (`::1`), or `localhost`.
    public let host: String
    public let port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; the error text says what is wrong (it names no key: the caller does).
    init(parsing text: String) throws(ValueError) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ValueError(message: "must be host:port, an IPv6 host in brackets ([::1]:9464) (got \"\(text)\")")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ValueError(message: "must be host:port, e.g. 127.0.0.1:9464 (got \"\(text)\")")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                throw ValueError(message: "an IPv6 host must be in brackets, e.g. [::1]:9464 (got \"\(text)\")")
            }
        }
        guard !hostPart.isEmpty else {
            throw ValueError(
                message:
                    "needs a host: 127.0.0.1 for this machine only, 0.0.0.0 or [::] for every interface (got \"\(text)\")"
            )
        }
        guard let port = UInt16(portPart), port > 0 else {
            throw ValueError(message: "the port must be an integer in 1…65535 (got \"\(text)\")")
        }
        let host = String(hostPart)
        guard host == "localhost" || Self.isIPLiteral(host) else {
            throw ValueError(
                message: "the host must be an IPv4 or IPv6 address or localhost, no name is resolved (got \"\(text)\")")
        }
        self.init(host: host, port: port)
    }

    /// IPv6 hosts in brackets, as they are written.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `inet_pton` only parses; it resolves nothing.
    static func isIPLiteral(_ host: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, host, &buffer) == 1 || inet_pton(AF_INET6, host, &buffer) == 1
    }
}
