import Foundation

/// The health socket's protocol (CONTRACT section 7): `health\n` or `metrics\n`; an empty line,
/// closing the write side, or silence until the deadline all mean `health`; anything else gets a
/// one-line JSON error.
struct HealthSocketExchange: PolledExchange {
    let health: HealthState

    var maximumRequestBytes: Int { HealthSocketServer.maximumRequestBytes }

    func response(to received: [UInt8], ended: Bool) -> [UInt8]? {
        guard ended || received.count > maximumRequestBytes || received.contains(UInt8(ascii: "\n")) else {
            return nil
        }
        return Array(response(toLine: Self.requestLine(received)).utf8)
    }

    func responseToSilence(_ received: [UInt8]) -> [UInt8]? {
        Array(response(toLine: []).utf8)
    }

    func response(toLine request: [UInt8]) -> String {
        switch String(decoding: request, as: UTF8.self).trimmingCharacters(in: .whitespaces) {
        case "", "health": health.healthJSON() + "\n"
        case "metrics": health.prometheusText()
        default: "{\"ok\":false,\"error\":\"unknown command: send health or metrics\"}\n"
        }
    }

    /// The first line the client sent, without its line ending; empty when it sent nothing.
    static func requestLine(_ received: [UInt8]) -> [UInt8] {
        var line =
            received.split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false)
            .first.map(Array.init) ?? []
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return line
    }
}
