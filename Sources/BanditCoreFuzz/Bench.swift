import BanditCore
import Foundation

/// `BanditCoreFuzz bench`: single-threaded decode + validation throughput (events/s per core).
enum Bench {
    /// A typical ~300-byte `feedback.reward` (inline form, 5 features).
    static let reward = """
        {"event_id":"6f1c2a9e-3b7d-4c1e-9a5f-2d8e7b6c4a10","schema_version":1,\
        "occurred_at":"2026-04-25T10:00:00.123Z","user_id":"user-0000000042","source":"prod","reward":0.75,\
        "policy":"linucb_v1","arm_id":"tip-morning-review-v2","features":[0.1234567,-0.5,1.0,0.3333333,0.0],\
        "producer":"tips-svc"}
        """

    /// The same reward as a Python/Swift producer prints doubles: 17 significant digits.
    static let rewardLongDigits = """
        {"event_id":"6f1c2a9e-3b7d-4c1e-9a5f-2d8e7b6c4a10","schema_version":1,\
        "occurred_at":"2026-04-25T10:00:00.123Z","user_id":"user-0000000042","source":"prod",\
        "reward":0.7500000000000001,"policy":"linucb_v1","arm_id":"tip-morning-review-v2",\
        "features":[0.12345670000000001,-0.49999999999999994,1.0,0.33333333333333331,0.30000000000000004]}
        """

    /// A `feedback.routing` with the optional policy + features (d = 8).
    static let routing = """
        {"event_id":"5ac17e0d-3f96-4b8a-8c7d-0e1f2a3b4c56","schema_version":1,\
        "occurred_at":"2026-04-25T09:59:59.999-05:30","user_id":"svc:router@eu-1","source":"shadow",\
        "inference_id":"6bd28f1e-4a07-4c9b-9d8e-1f2a3b4c5d67","task_type":"code","task_type_source":"classifier",\
        "policy_version":"routing_v1@1.2.0+0badc0de","model":"gpt-4o-mini","provider":"openai",\
        "constraint_band":"standard","reward":0.82,"latency_ms":812.5,"cost_usd":0.00042,"completed":true,\
        "policy":"routing_v1","features":[1,0,0,0.25,-0.75,0.5,0.125,1e-3]}
        """

    /// A `feedback.routing` without policy + features.
    static let routingMinimal = """
        {"event_id":"5ac17e0d-3f96-4b8a-8c7d-0e1f2a3b4c56","schema_version":1,\
        "occurred_at":"2026-04-25T09:59:59.999-05:30","user_id":"svc:router@eu-1","source":"shadow",\
        "inference_id":"6bd28f1e-4a07-4c9b-9d8e-1f2a3b4c5d67","task_type":"code","task_type_source":"classifier",\
        "policy_version":"routing_v1@1.2.0+0badc0de","model":"gpt-4o-mini","provider":"openai",\
        "constraint_band":"standard","reward":0.82,"latency_ms":812.5,"cost_usd":0.00042,"completed":true}
        """

    /// Measures each case in 0.2 s windows for about `seconds`, and prints the median and best
    /// window: on a shared machine the best window is the closest to an idle core.
    static func run(seconds: Double, only filter: String? = nil) {
        let decoder = EventDecoder(policies: .defaults)
        let now = Date(timeIntervalSince1970: 1_777_118_400)
        let cases: [(String, EventSubject, String)] = [
            ("feedback.reward (inline, d=5)", .reward, reward),
            ("feedback.reward (17-digit doubles)", .reward, rewardLongDigits),
            ("feedback.routing (policy, d=8)", .routing, routing),
            ("feedback.routing (no policy)", .routing, routingMinimal),
        ]
        let windows = max(3, Int(seconds / 0.2))
        print("decode + validation, one thread, \(windows) windows of 0.2 s per case, events/s per core")
        print("case                                 bytes   median/s      best/s   ns/event(best)")
        for (name, subject, text) in cases where filter.map(name.contains) ?? true {
            let body = Array(text.utf8)
            let rates = body.withUnsafeBytes { bytes -> [Double] in
                guard case .success = decoder.decode(subject: subject.rawValue, headers: [:], body: bytes, now: now)
                else {
                    fatalError("bench event \(name) is not valid")
                }
                _ = measure(decoder, subject.rawValue, bytes, now, seconds: 0.2)
                return (0..<windows).map { _ in measure(decoder, subject.rawValue, bytes, now, seconds: 0.2) }
                    .sorted()
            }
            let median = rates[rates.count / 2]
            let best = rates.last!
            func column(_ text: String, _ width: Int) -> String {
                String(repeating: " ", count: max(0, width - text.count)) + text
            }
            print(
                name.padding(toLength: 36, withPad: " ", startingAt: 0) + column("\(body.count)", 6)
                    + column("\(Int(median))", 11) + column("\(Int(best))", 12)
                    + column(String(format: "%.0f", 1e9 / best), 17))
        }
    }

    /// Exactly `count` decodes of each selected case, for `perf stat -e cycles:u` (cycles per
    /// event do not depend on what else the machine runs).
    static func runFixed(count: Int, only filter: String?) {
        let decoder = EventDecoder(policies: .defaults)
        let now = Date(timeIntervalSince1970: 1_777_118_400)
        let cases: [(String, EventSubject, String)] = [
            ("feedback.reward (inline, d=5)", .reward, reward),
            ("feedback.reward (17-digit doubles)", .reward, rewardLongDigits),
            ("feedback.routing (policy, d=8)", .routing, routing),
            ("feedback.routing (no policy)", .routing, routingMinimal),
        ]
        for (name, subject, text) in cases where filter.map(name.contains) ?? true {
            var checksum = 0
            Array(text.utf8).withUnsafeBytes { bytes in
                for _ in 0..<count {
                    if case .success(let event) = decoder.decode(
                        subject: subject.rawValue, headers: [:], body: bytes, now: now)
                    {
                        checksum &+= event.userID.utf8.count
                    }
                }
            }
            print("\(name): \(count) events, checksum \(checksum)")
        }
    }

    private static func measure(
        _ decoder: EventDecoder, _ subject: String, _ body: UnsafeRawBufferPointer, _ now: Date, seconds: Double
    ) -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let budget = Duration.milliseconds(Int64(seconds * 1000))
        var events = 0
        var checksum = 0
        while clock.now - start < budget {
            for _ in 0..<1000 {
                if case .success(let event) = decoder.decode(subject: subject, headers: [:], body: body, now: now) {
                    checksum &+= event.userID.utf8.count
                }
            }
            events += 1000
        }
        let elapsed = clock.now - start
        precondition(checksum != 0)
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        return Double(events) / nanoseconds * 1e9
    }
}
