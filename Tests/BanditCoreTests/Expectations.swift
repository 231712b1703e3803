import BanditCore
import Foundation
import Testing

/// The clock of every test: 2026-04-25T12:00:00Z.
let testNow = Date(timeIntervalSince1970: 1_777_118_400)

let testDecoder = EventDecoder(policies: .defaults)

func decode(_ subject: String, _ body: [UInt8], decoder: EventDecoder = testDecoder) -> Result<Event, Rejection> {
    decoder.decode(subject: subject, headers: [:], body: body, now: testNow)
}

func decode(_ subject: EventSubject, _ body: Body) -> Result<Event, Rejection> {
    decode(subject.rawValue, body.bytes)
}

func decode(_ subject: EventSubject, _ text: String) -> Result<Event, Rejection> {
    decode(subject.rawValue, Array(text.utf8))
}

/// Expects a valid event and returns it.
@discardableResult
func expectEvent(
    _ result: Result<Event, Rejection>, sourceLocation: SourceLocation = #_sourceLocation
) -> Event? {
    switch result {
    case .success(let event):
        return event
    case .failure(let rejection):
        Issue.record("expected an event, got \(rejection)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Expects a rejection with `reason` whose detail starts with `detailPrefix` (when given).
func expectRejection(
    _ result: Result<Event, Rejection>, _ reason: RejectionReason, detailPrefix: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    switch result {
    case .success(let event):
        Issue.record("expected \(reason), got an event: \(event)", sourceLocation: sourceLocation)
    case .failure(let rejection):
        #expect(rejection.reason == reason, "\(rejection.detail)", sourceLocation: sourceLocation)
        if let detailPrefix {
            #expect(
                rejection.detail.hasPrefix(detailPrefix), "detail: \(rejection.detail)", sourceLocation: sourceLocation)
        }
        #expect(!rejection.detail.isEmpty, sourceLocation: sourceLocation)
    }
}

/// One value for one field: accepted, rejected with a reason, or the field absent.
struct FieldCase: Sendable, CustomTestStringConvertible {
    /// Raw JSON text, nil for "field absent".
    let raw: String?
    /// nil when the value must be accepted.
    let reason: RejectionReason?

    static func ok(_ raw: String) -> FieldCase { FieldCase(raw: raw, reason: nil) }
    static func bad(_ raw: String, _ reason: RejectionReason = .schemaInvalid) -> FieldCase {
        FieldCase(raw: raw, reason: reason)
    }
    static let absent = FieldCase(raw: nil, reason: .schemaInvalid)
    static let absentIsFine = FieldCase(raw: nil, reason: nil)

    var testDescription: String {
        "\(raw ?? "<absent>") → \(reason?.rawValue ?? "accepted")"
    }
}

/// Sets `field` of `subject`'s sample body to the case's value and checks the outcome; a
/// rejection's detail must start with the field's name (or `detailPrefix`).
func check(
    _ subject: EventSubject, _ field: String, _ fieldCase: FieldCase, base: Body? = nil,
    detailPrefix: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
    let body = (base ?? Sample.body(of: subject)).setting(field, fieldCase.raw)
    let result = decode(subject, body)
    if let reason = fieldCase.reason {
        expectRejection(result, reason, detailPrefix: detailPrefix ?? field, sourceLocation: sourceLocation)
    } else {
        expectEvent(result, sourceLocation: sourceLocation)
    }
}

extension String {
    /// JSON string literal of plain text (no characters that need escaping).
    var json: String { "\"\(self)\"" }
}

/// The payload of one kind of event, nil for the others: `try #require(event.routing)` fails the
/// test on the wrong kind instead of passing silently.
extension Event {
    var tipFeedback: TipFeedback? {
        if case .tipFeedback(let payload) = self { payload } else { nil }
    }

    var reward: Reward? {
        if case .reward(let payload) = self { payload } else { nil }
    }

    var routing: RoutingOutcome? {
        if case .routing(let payload) = self { payload } else { nil }
    }
}
