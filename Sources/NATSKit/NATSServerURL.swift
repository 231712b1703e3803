#if canImport(Glibc)
    import Glibc
#endif

/// A server URL as cnats takes it, `[nats://|tls://][user[:password]@]host[:port]`, checked before
/// connecting: cnats reports a URL it cannot use (a port of 99999, an `http://` scheme, no host) or
/// a host that does not exist as "No server available", the same words as for a server that is down.
public struct NATSServerURL: Sendable, Equatable {
    public var scheme: String
    public var host: String
    public var port: Int

    /// Why a URL cannot be used; the description never contains its password.
    public struct Malformed: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws(Malformed) {
        // No credentials in messages, with or without a scheme.
        let shown =
            text.contains("://") || !text.contains("@")
            ? NATSConnectionOptions.redactingURL(text)
            : "<redacted>" + text[text.lastIndex(of: "@")!...]
        func malformed(_ why: String) -> Malformed { Malformed(description: "NATS server URL \(shown): \(why)") }
        var rest = Substring(text)
        if let separator = rest.range(of: "://") {
            scheme = rest[..<separator.lowerBound].lowercased()
            rest = rest[separator.upperBound...]
            guard scheme == "nats" || scheme == "tls" else {
                throw malformed("expected the scheme nats:// or tls://, got \(scheme)://")
            }
        } else {
            scheme = "nats"
        }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if let slash = rest.firstIndex(of: "/") {
            guard rest[slash...].allSatisfy({ $0 == "/" }) else { throw malformed("a server URL has no path") }
            rest = rest[..<slash]
        }
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw malformed("unclosed [ in an IPv6 address") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw malformed("expected :port after ]") }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." || $0 == "%" }) else {
                throw malformed("\(host) is not an IPv6 address")
            }
        } else {
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw malformed("too many colons (write an IPv6 address in [ ])") }
            host = String(parts[0])
            portText = parts.count == 2 ? parts[1] : nil
            guard !host.isEmpty else { throw malformed("no host") }
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") })
            else { throw malformed("\(host) is not a host name or address") }
        }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw malformed("expected a port 1…65535, got \(portText.isEmpty ? "nothing" : String(portText))")
            }
            self.port = port
        } else {
            port = 4222
        }
    }

    /// What a name lookup of `host` says.
    public enum Resolution: Sendable, Equatable {
        case resolves
        /// The resolver answered that no such host exists (EAI_NONAME, EAI_NODATA).
        case unknownHost
        /// The lookup failed for now (EAI_AGAIN and others): the host may exist.
        case lookupFailed
    }

    /// Looks `host` up (blocking, bounded by the resolver's own timeouts).
    public func resolve() -> Resolution {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        if let result { freeaddrinfo(result) }
        switch status {
        case 0: return .resolves
        case EAI_NONAME, -5 /* EAI_NODATA, a GNU extension */: return .unknownHost
        default: return .lookupFailed
        }
    }
}
