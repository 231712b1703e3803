import CLibPQ

/// Reading a conninfo string or URI without ever printing its password.
public enum PostgresConninfo {
    /// `host=db port=5432 dbname=banditd user=banditd` — the parts an operator needs to see.
    /// An unparsable conninfo is shown as `<unparsable conninfo>` (its text may hold a secret).
    public static func redacted(_ conninfo: String) -> String {
        guard let options = parse(conninfo) else { return "<unparsable conninfo>" }
        let shown = ["host", "hostaddr", "port", "dbname", "user", "sslmode"]
        let parts = shown.compactMap { key in options[key].map { "\(key)=\($0)" } }
        return parts.isEmpty ? "<defaults>" : parts.joined(separator: " ")
    }

    /// The password in `conninfo`, if any (to scrub it from texts that may echo it).
    static func password(in conninfo: String) -> String? {
        parse(conninfo)?["password"]
    }

    /// Removes the conninfo's password (plain and percent-encoded) from `text`.
    static func scrubbed(_ text: String, conninfo: String) -> String {
        var text = text
        for secret in secrets(in: conninfo) where !secret.isEmpty {
            text = text.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return text
    }

    private static func secrets(in conninfo: String) -> [String] {
        var secrets: [String] = []
        if let password = password(in: conninfo) {
            secrets.append(password)
        }
        // A URI's userinfo as written (possibly percent-encoded, possibly unparsable).
        if let scheme = conninfo.range(of: "://"), let at = conninfo[scheme.upperBound...].firstIndex(of: "@") {
            let userInfo = conninfo[scheme.upperBound..<at]
            if let colon = userInfo.firstIndex(of: ":") {
                secrets.append(String(userInfo[userInfo.index(after: colon)...]))
            }
        }
        return secrets.sorted { $0.count > $1.count }
    }

    /// Key → value of the options that are set (libpq's own parser, for both forms).
    static func parse(_ conninfo: String) -> [String: String]? {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            if let errorMessage { PQfreemem(errorMessage) }
            return nil
        }
        defer { PQconninfoFree(options) }
        var result: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                result[String(cString: keyword)] = String(cString: value)
            }
            option += 1
        }
        return result
    }
}
