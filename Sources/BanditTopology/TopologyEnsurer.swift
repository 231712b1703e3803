import Foundation
import NATSKit

/// What `streams ensure` found and did.
public struct EnsureReport: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        case created
        case verified
        /// Compatible, but a setting differs from configuration (e.g. max_ack_pending): left alone.
        case verifiedWithNotes([String])
        /// Compatible; its max_age was set to the configured one (e.g. an upgrade from a release
        /// whose streams had none).
        case updated([String])
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
    /// Creates what is missing and verifies what exists. Changes an existing stream only in one
    /// way: its max_age is set to the configured one — after checking that no message a consumer
    /// has not yet settled is older than the new limit (so setting it loses nothing; otherwise a
    /// `TopologyError` says so). Never changes a consumer; an incompatible stream or consumer is a
    /// `TopologyError` naming every mismatch.
    public func ensure(on connection: NATSConnection, now: Date = Date()) throws -> EnsureReport {
        var report = EnsureReport()
        for expected in streams {
            do {
                let info = try connection.streamInfo(expected.name)
                let existing = info.config
                let problems = Self.incompatibilities(of: existing, with: expected)
                guard problems.isEmpty else {
                    throw TopologyError(subject: "stream \(expected.name)", problems: problems)
                }
                var notes: [String] = []
                if existing.replicas != expected.replicas {
                    notes.append("num_replicas is \(existing.replicas), configuration says \(expected.replicas)")
                }
                if existing.maxAge != expected.maxAge {
                    try checkNothingUnsettledIsOlder(than: expected.maxAge, in: expected.name, on: connection, now: now)
                    var updated = existing
                    updated.maxAge = expected.maxAge
                    if expected.maxAge > .zero {
                        updated.duplicateWindow = min(updated.duplicateWindow, expected.maxAge)
                    }
                    _ = try connection.updateStream(updated)
                    report.streams.append(
                        (
                            expected.name,
                            .updated(
                                ["max_age \(Self.describe(existing.maxAge)) → \(Self.describe(expected.maxAge))"]
                                    + notes)
                        ))
                    continue
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

    /// Refuses a max_age under which the server would drop a message that one of our consumers
    /// has not settled yet: the oldest unsettled message (the one after the consumer's ack floor)
    /// must be younger than the new limit.
    private func checkNothingUnsettledIsOlder(
        than maxAge: Duration, in stream: String, on connection: NATSConnection, now: Date
    ) throws {
        guard maxAge > .zero else { return }
        for spec in allConsumers where spec.stream == stream {
            guard
                let info = try? connection.consumerInfo(stream: stream, consumer: spec.configuration.durableName ?? "")
            else { continue }
            guard
                let oldest = try connection.nextMessage(
                    stream: stream, from: info.ackFloor.streamSequence + 1, subject: ">"),
                let storedAt = oldest.storedAt
            else { continue }
            let age = now.timeIntervalSince(storedAt)
            let (limit, atto) = maxAge.components
            if age >= Double(limit) + Double(atto) / 1e18 {
                throw TopologyError(
                    subject: "stream \(stream)",
                    problems: [
                        "cannot set max_age to \(Self.describe(maxAge)): consumer \(spec.configuration.durableName ?? "") has not settled message \(oldest.sequence) stored \(Int(age)) s ago, which the server would then drop; let the daemon drain first, or raise nats.stream_max_age_s"
                    ])
            }
        }
    }

    static func describe(_ maxAge: Duration) -> String {
        maxAge == .zero ? "unlimited" : "\(maxAge.components.seconds) s"
    }
}
