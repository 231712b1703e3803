import NATSKit

/// What `streams ensure` found and did.
public struct EnsureReport: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        case created
        case verified
        /// Compatible, but a setting differs from configuration (e.g. max_ack_pending): left alone.
        case verifiedWithNotes([String])
    }

    public var streams: [(name: String, action: Action)] = []
    public var consumers: [(name: String, action: Action)] = []

    public static func == (lhs: EnsureReport, rhs: EnsureReport) -> Bool {
        lhs.streams.map(\.name) == rhs.streams.map(\.name) && lhs.streams.map(\.action) == rhs.streams.map(\.action)
            && lhs.consumers.map(\.name) == rhs.consumers.map(\.name)
            && lhs.consumers.map(\.action) == rhs.consumers.map(\.action)
    }
}

/// An existing stream or consumer that banditd cannot use as it is configured.
public struct TopologyError: Error, Sendable, CustomStringConvertible {
    /// e.g. "consumer feature-pipeline-signals on stream SIGNALS".
    public let subject: String
    public let problems: [String]

    public var description: String {
        "\(subject) is incompatible: \(problems.joined(separator: "; ")). "
            + "Fix it with the nats CLI (`nats stream edit` / `nats consumer edit`), or delete it and run `banditd streams ensure`."
    }
}

extension StreamTopology {
    /// Creates what is missing and verifies what exists. Never changes an existing stream or
    /// consumer: an incompatible one is a `TopologyError` naming every mismatch.
    public func ensure(on connection: NATSConnection) throws -> EnsureReport {
        var report = EnsureReport()
        for expected in streams {
            do {
                let existing = try connection.streamInfo(expected.name).config
                let problems = Self.incompatibilities(of: existing, with: expected)
                guard problems.isEmpty else {
                    throw TopologyError(subject: "stream \(expected.name)", problems: problems)
                }
                var notes: [String] = []
                if existing.replicas != expected.replicas {
                    notes.append("num_replicas is \(existing.replicas), configuration says \(expected.replicas)")
                }
                report.streams.append((expected.name, notes.isEmpty ? .verified : .verifiedWithNotes(notes)))
            } catch let error as NATSError where error.isNotFound {
                _ = try connection.createStream(expected)
                report.streams.append((expected.name, .created))
            }
        }
        for spec in allConsumers {
            let name = spec.configuration.durableName ?? ""
            do {
                let existing = try connection.consumerInfo(stream: spec.stream, consumer: name).config
                let problems = Self.incompatibilities(of: existing, with: spec.configuration)
                guard problems.isEmpty else {
                    throw TopologyError(subject: "consumer \(name) on stream \(spec.stream)", problems: problems)
                }
                var notes: [String] = []
                if existing.maxAckPending != spec.configuration.maxAckPending {
                    notes.append(
                        "max_ack_pending is \(existing.maxAckPending), configuration says \(spec.configuration.maxAckPending)"
                    )
                }
                report.consumers.append((name, notes.isEmpty ? .verified : .verifiedWithNotes(notes)))
            } catch let error as NATSError where error.isNotFound {
                _ = try connection.createOrUpdateConsumer(stream: spec.stream, spec.configuration)
                report.consumers.append((name, .created))
            }
        }
        return report
    }
}
