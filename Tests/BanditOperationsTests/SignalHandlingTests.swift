import Foundation
import Logging
import Testing

@testable import BanditOperations

#if canImport(Glibc)
    import Glibc
#endif

/// The pure parts of the signal handling: the abort handler's log line and its reading of
/// `SWIFT_BACKTRACE`, and durations as log numbers.
@Suite struct SignalHandlingTests {
    static func formatted(_ seconds: Int64, _ nanoseconds: Int64) -> String {
        var buffer = [UInt8](repeating: 0, count: 64)
        let length = buffer.withUnsafeMutableBufferPointer {
            AbortSignalHandler.formatTimestamp(seconds: seconds, nanoseconds: nanoseconds, into: $0.baseAddress!)
        }
        return String(decoding: buffer[0..<length], as: UTF8.self)
    }

    @Test func theHandlersTimestampIsTheLogHandlersFormat() {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var instants: [Int64] = [0, 59, 86_399, 86_400, 951_782_400, 951_868_799, 4_107_542_400, 1_796_170_163]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 { instants.append(Int64.random(in: 0...4_102_444_800, using: &generator)) }
        for seconds in instants {
            let milliseconds = Int64(seconds % 1000)
            let date = Date(timeIntervalSince1970: Double(seconds) + Double(milliseconds) / 1000 + 0.0004)
            #expect(Self.formatted(seconds, milliseconds * 1_000_000 + 400_000) == date.formatted(style), "\(seconds)")
        }
    }

    @Test func theLogLineIsOneJSONObjectNamingTheSignal() throws {
        let line =
            "{\"ts\":\"" + Self.formatted(1_796_170_163, 5_000_000)
            + AbortSignalHandler.lineSuffix(signal: "SIGABRT", logger: "banditd", crashReport: "/var/log/banditd")
        #expect(line.hasSuffix("}\n"))
        #expect(line.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["ts"] as? String == "2026-12-02T00:09:23.005Z")
        #expect(object["level"] as? String == "critical")
        #expect(object["msg"] as? String == "terminating on SIGABRT")
        #expect(object["logger"] as? String == "banditd")
        #expect(object["signal"] as? String == "SIGABRT")
        #expect(object["crash_report"] as? String == "/var/log/banditd")
        let plain = AbortSignalHandler.lineSuffix(signal: "SIGQUIT", logger: "banditd", crashReport: nil)
        #expect(!plain.contains("crash_report"))
    }

    @Test(
        arguments: [
            (nil, nil), ("enable=no", nil), ("enable=no,output-to=/var/log/x", nil),
            ("enable=yes", "stderr"), ("", "stderr"), ("format=json", "stderr"),
            ("enable=yes,interactive=no,format=json,output-to=/var/log/banditd", "/var/log/banditd"),
            ("output-to=stdout", "stdout"), ("output-to = stdout", "stdout"), ("OUTPUT-TO=/tmp/r,enable=yes", "/tmp/r"),
        ] as [(String?, String?)])
    func theCrashReportGoesWhereSwiftBacktraceSays(setting: String?, destination: String?) {
        #expect(AbortSignalHandler.crashReportDestination(swiftBacktrace: setting) == destination)
    }

    @Test func ignoredAndTerminatingSignalsAreTheDocumentedOnes() {
        #expect(IgnoredSignals.signals.map(\.name) == ["SIGHUP", "SIGUSR1", "SIGUSR2"])
        #expect(IgnoredSignals.signals.map(\.number) == [SIGHUP, SIGUSR1, SIGUSR2])
        #expect(AbortSignalHandler.signals.map(\.number) == [SIGABRT, SIGQUIT])
    }

    @Test func durationsAreLoggedAsWholeMilliseconds() {
        #expect((Duration.milliseconds(1234) + .microseconds(600)).roundedMilliseconds == 1235)
        #expect(Duration.milliseconds(250).roundedMilliseconds == 250)
        #expect(Duration.microseconds(499).roundedMilliseconds == 0)
        #expect(Duration.seconds(90).roundedMilliseconds == 90_000)
        #expect("\(Logger.MetadataValue.milliseconds(.seconds(1.5)))" == "1500")
    }
}
