import Foundation

/// The HTTP/1.1 side of CONTRACT section 11, without sockets: `GET /metrics` (Prometheus text) and
/// `GET /healthz` (the health JSON, 200 iff `ok`, else 503); `HEAD` for either. One request per
/// connection, answered with `Connection: close`; a request body is never read.
///
/// Requests are bounded: a request line and headers longer than ``maximumRequestBytes`` get 431,
/// a client that has not sent them by its deadline gets 408, anything but GET or HEAD gets 405.
struct MetricsHTTPExchange: PolledExchange {
    let health: HealthState

    /// Request line and headers together (Prometheus sends about 300 bytes).
    static let maximumRequestBytes = 8192

    var maximumRequestBytes: Int { Self.maximumRequestBytes }

    func response(to received: [UInt8], ended: Bool) -> [UInt8]? {
        guard let head = Self.head(of: received) else {
            if received.count > maximumRequestBytes {
                return Self.plain(431, "Request Header Fields Too Large", "request headers too large\n")
            }
            return ended ? Self.plain(400, "Bad Request", "incomplete request\n") : nil
        }
        guard head.count <= maximumRequestBytes else {
            return Self.plain(431, "Request Header Fields Too Large", "request headers too large\n")
        }
        return respond(toHead: head)
    }

    func responseToSilence(_ received: [UInt8]) -> [UInt8]? {
        Self.plain(408, "Request Timeout", "no request in time\n")
    }

    /// The bytes before the blank line that ends the headers (`\r\n\r\n`, or a bare `\n\n`).
    static func head(of received: [UInt8]) -> ArraySlice<UInt8>? {
        var index = received.startIndex
        while index < received.endIndex {
            if received[index] == UInt8(ascii: "\n") {
                let next = received.index(after: index)
                if next < received.endIndex, received[next] == UInt8(ascii: "\n") { return received[..<index] }
                if next + 1 < received.endIndex, received[next] == UInt8(ascii: "\r"),
                    received[next + 1] == UInt8(ascii: "\n")
                {
                    return received[..<index]
                }
            }
            index += 1
        }
        return nil
    }

    private func respond(toHead head: ArraySlice<UInt8>) -> [UInt8] {
        let firstLine =
            head.split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false)
            .first ?? []
        let requestLine = String(decoding: firstLine, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].hasPrefix("/") else {
            return Self.plain(400, "Bad Request", "malformed request line\n")
        }
        guard parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0" else {
            return parts[2].hasPrefix("HTTP/")
                ? Self.plain(505, "HTTP Version Not Supported", "HTTP/1.1 only\n")
                : Self.plain(400, "Bad Request", "malformed request line\n")
        }
        let method = parts[0]
        guard method == "GET" || method == "HEAD" else {
            return Self.plain(
                405, "Method Not Allowed", "GET or HEAD only\n", extraHeaders: "Allow: GET, HEAD\r\n")
        }
        let path = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let withBody = method == "GET"
        switch path {
        case "/metrics":
            return Self.message(
                200, "OK", contentType: "text/plain; version=0.0.4; charset=utf-8", body: health.prometheusText(),
                withBody: withBody)
        case "/healthz":
            let ok = health.isOK
            return Self.message(
                ok ? 200 : 503, ok ? "OK" : "Service Unavailable", contentType: "application/json",
                body: health.healthJSON() + "\n", withBody: withBody)
        default:
            return Self.plain(404, "Not Found", "not found: /metrics and /healthz are served\n", withBody: withBody)
        }
    }

    static func plain(
        _ status: Int, _ reason: String, _ body: String, extraHeaders: String = "", withBody: Bool = true
    ) -> [UInt8] {
        message(
            status, reason, contentType: "text/plain; charset=utf-8", body: body, extraHeaders: extraHeaders,
            withBody: withBody)
    }

    static func message(
        _ status: Int, _ reason: String, contentType: String, body: String, extraHeaders: String = "",
        withBody: Bool = true
    ) -> [UInt8] {
        let body = Array(body.utf8)
        var head = "HTTP/1.1 \(status) \(reason)\r\n"
        head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        head += "Cache-Control: no-store\r\nConnection: close\r\n\(extraHeaders)\r\n"
        return Array(head.utf8) + (withBody ? body : [])
    }
}
