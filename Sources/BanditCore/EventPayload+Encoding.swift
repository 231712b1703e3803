import Foundation

extension KeyedEncodingContainer where Key == Field {
    /// Encodes `event_id` (lowercase UUID), `schema_version` 1, `occurred_at` (RFC 3339, UTC,
    /// microseconds), `user_id` and `source` (always written, also for `prod`).
    mutating func encodeEnvelope(_ envelope: Envelope) throws {
        try encode(envelope.eventID, for: .eventID)
        try encode(1, forKey: .schemaVersion)
        guard let timestamp = RFC3339.format(envelope.occurredAt) else {
            throw EncodingError.invalidValue(
                envelope.occurredAt,
                EncodingError.Context(
                    codingPath: codingPath + [Field.occurredAt],
                    debugDescription: "expected a time in the years 0000…9999, got \(envelope.occurredAt)"))
        }
        try encode(timestamp, forKey: .occurredAt)
        try encode(envelope.userID, forKey: .userID)
        try encode(envelope.source.rawValue, forKey: .source)
    }

    mutating func encode(_ uuid: UUID, for field: Field) throws {
        try encode(uuid.uuidString.lowercased(), forKey: field)
    }

    /// Encodes a number that must be finite (non-finite values are not JSON).
    mutating func encodeFinite(_ value: Double, for field: Field) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value,
                EncodingError.Context(
                    codingPath: codingPath + [field], debugDescription: "expected a finite number, got \(value)"))
        }
        try encode(value, forKey: field)
    }
}

extension EventPayload {
    /// The memberwise initialisers' check: the event's JSON must decode through `EventDecoder`,
    /// so building an event applies exactly the rules and the detail texts of receiving one.
    /// Only the clock rule (at most 24 h ahead of the receiver's clock) is left to the receiver.
    func validate(policies: PolicyRegistry) throws(Rejection) {
        let body: Data
        do {
            body = try JSONEncoder().encode(self)
        } catch let error as EncodingError {
            guard case .invalidValue(let value, let context) = error else {
                throw Rejection(reason: .schemaInvalid, detail: "body: \(error)")
            }
            let path = EventPayloadPath.text(context.codingPath)
            let detail =
                context.debugDescription.hasPrefix("expected")
                ? context.debugDescription : "expected a finite number, got \(value)"
            throw Rejection(reason: .schemaInvalid, detail: "\(path): \(detail)")
        } catch {
            throw Rejection(reason: .schemaInvalid, detail: "body: \(error)")
        }
        let decoder = EventDecoder(policies: policies, maxPayloadBytes: Int.max)
        if case .failure(let rejection) = decoder.decode(
            subject: Self.subject.rawValue, headers: [:], body: body, now: .distantFuture)
        {
            throw rejection
        }
    }
}

/// `features[3]` from a coding path.
enum EventPayloadPath {
    static func text(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text.isEmpty ? "body" : text
    }
}
