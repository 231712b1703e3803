import Foundation

extension KeyedEncodingContainer where Key == FieldKey {
    /// Encodes `event_id` (lowercase UUID), `schema_version` 1, `occurred_at` (RFC 3339, UTC,
    /// microseconds), `user_id` and `source` (always written, also for `prod`).
    mutating func encodeEnvelope(of payload: some EventPayload) throws {
        try encode(payload.eventID, for: .eventID)
        try encode(1, forKey: FieldKey(.schemaVersion))
        guard let timestamp = RFC3339.format(payload.occurredAt) else {
            throw EncodingError.invalidValue(
                payload.occurredAt,
                EncodingError.Context(
                    codingPath: codingPath + [FieldKey(.occurredAt)],
                    debugDescription: "occurred_at must fall in the years 0000…9999"))
        }
        try encode(timestamp, forKey: FieldKey(.occurredAt))
        try encode(payload.userID, forKey: FieldKey(.userID))
        try encode(payload.source.rawValue, forKey: FieldKey(.source))
    }

    mutating func encode(_ uuid: UUID, for field: Field) throws {
        try encode(uuid.uuidString.lowercased(), forKey: FieldKey(field))
    }

    mutating func encode(_ value: some Encodable, for field: Field) throws {
        try encode(value, forKey: FieldKey(field))
    }

    mutating func encodeIfPresent(_ value: (some Encodable)?, for field: Field) throws {
        try encodeIfPresent(value, forKey: FieldKey(field))
    }

    /// Encodes a number that must be finite (non-finite values are not JSON).
    mutating func encodeFinite(_ value: Double, for field: Field) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value,
                EncodingError.Context(
                    codingPath: codingPath + [FieldKey(field)], debugDescription: "\(field.name) must be finite"))
        }
        try encode(value, forKey: FieldKey(field))
    }
}
