import BanditCore
import Foundation
import Testing

/// The members every message carries (CONTRACT section 2), checked on every subject.
@Suite("Envelope rules")
struct EnvelopeRuleTests {
    @Test("every envelope member but source is required, on every subject", arguments: EventSubject.allCases)
    func envelopeMembersAreRequired(_ subject: EventSubject) {
        for field in ["event_id", "schema_version", "occurred_at", "user_id"] {
            check(subject, field, .absent, detailPrefix: "\(field): required field is missing")
        }
        check(subject, "source", .absentIsFine)
    }

    @Test(
        "schema_version must be the JSON integer 1",
        arguments: [
            FieldCase.ok("1"), .bad("1.0"), .bad("1e0"), .bad("1E0"), .bad("10e-1"), .bad("\"1\""), .bad("2"),
            .bad("0"), .bad("-1"), .bad("true"), .bad("null"), .bad("[1]"), .bad("-0"),
            .bad("100000000000000000000001"),
        ])
    func schemaVersion(_ fieldCase: FieldCase) {
        check(.taskSynced, "schema_version", fieldCase)
    }

    @Test(
        "event_id must be a UUID in canonical text form, either case",
        arguments: [
            FieldCase.ok("\"0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d01\""), .ok("\"0B7C2F5E-8A41-4C3B-9D2E-5F6A7B8C9D01\""),
            .ok("\"0b7C2f5E-8a41-4c3b-9D2e-5f6a7b8c9d01\""), .ok("\"00000000-0000-0000-0000-000000000000\""),
            .ok("\"0b7c2f5e\\u002d8a41-4c3b-9d2e-5f6a7b8c9d01\""),
            .bad("\"{0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d01}\""), .bad("\"0b7c2f5e8a414c3b9d2e5f6a7b8c9d01\""),
            .bad("\"urn:uuid:0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d01\""), .bad("\"0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d0\""),
            .bad("\"0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d012\""), .bad("\"0b7c2f5g-8a41-4c3b-9d2e-5f6a7b8c9d01\""),
            .bad("\"0b7c2f5e_8a41_4c3b_9d2e_5f6a7b8c9d01\""), .bad("\" 0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d0\""),
            .bad("\"0b7c2f5e-8a41-4c3b-9d2e5-f6a7b8c9d01\""), .bad("\"\""), .bad("42"), .bad("null"),
        ])
    func eventID(_ fieldCase: FieldCase) {
        check(.tipFeedback, "event_id", fieldCase)
    }

    @Test(
        "occurred_at must be RFC 3339 with an offset",
        arguments: [
            FieldCase.ok("\"2026-04-25T10:00:00Z\""), .ok("\"2026-04-25t10:00:00z\""),
            .ok("\"2026-04-25T10:00:00.123456789Z\""), .ok("\"2026-04-25T10:00:00.1234567891234Z\""),
            .ok("\"2026-04-25T10:00:00+02:00\""), .ok("\"2026-04-25T10:00:00-05:30\""),
            .ok("\"2026-04-25T10:00:00-00:00\""), .ok("\"2024-02-29T00:00:00Z\""), .ok("\"2016-12-31T23:59:60Z\""),
            .ok("\"1970-01-01T00:00:00Z\""), .ok("\"0001-01-01T00:00:00Z\""),
            .bad("\"2026-04-25T10:00:00\""), .bad("\"2026-04-25 10:00:00Z\""), .bad("\"2026-04-25\""),
            .bad("\"2026-04-25T10:00Z\""), .bad("\"2026-04-25T10:00:00.Z\""), .bad("\"2026-04-25T10:00:00+0200\""),
            .bad("\"2026-04-25T10:00:00+02\""), .bad("\"2026-04-25T10:00:00+24:00\""),
            .bad("\"2026-04-25T10:00:00+02:60\""), .bad("\"2026-13-01T10:00:00Z\""), .bad("\"2026-00-01T10:00:00Z\""),
            .bad("\"2026-02-29T10:00:00Z\""), .bad("\"2100-02-29T10:00:00Z\""), .bad("\"2026-04-31T10:00:00Z\""),
            .bad("\"2026-04-00T10:00:00Z\""), .bad("\"2026-04-25T24:00:00Z\""), .bad("\"2026-04-25T10:60:00Z\""),
            .bad("\"2026-04-25T10:00:61Z\""), .bad("\"26-04-25T10:00:00Z\""), .bad("\"2026-4-25T10:00:00Z\""),
            .bad("\"+2026-04-25T10:00:00Z\""), .bad("\"2026-04-25T10:00:00ZZ\""), .bad("\"2026-04-25T10:00:00 Z\""),
            .bad("\"2026-04-25T10:00:00.5\""), .bad("\"１９７０-01-01T00:00:00Z\""), .bad("1777111200"),
            .bad("null"),
        ])
    func occurredAtFormat(_ fieldCase: FieldCase) {
        check(.taskSynced, "occurred_at", fieldCase)
    }

    @Test("occurred_at may be at most 24 h after the injected clock")
    func occurredAtNotTooFarInTheFuture() {
        // testNow is 2026-04-25T12:00:00Z.
        check(.taskSynced, "occurred_at", .ok("\"2026-04-26T12:00:00Z\""))
        check(.taskSynced, "occurred_at", .ok("\"2026-04-26T13:59:59+02:00\""))
        check(.taskSynced, "occurred_at", .bad("\"2026-04-26T12:00:00.001Z\""))
        check(.taskSynced, "occurred_at", .bad("\"2026-04-26T12:00:01Z\""))
        check(.taskSynced, "occurred_at", .bad("\"2026-04-26T10:00:01-02:00\""))
        check(.taskSynced, "occurred_at", .bad("\"9999-12-31T23:59:59Z\""))
        check(.taskSynced, "occurred_at", .ok("\"1999-01-01T00:00:00Z\""))
        // The clock is injected: a later `now` accepts the same message.
        let body = Sample.taskSynced.setting("occurred_at", "\"2026-05-01T00:00:00Z\"").bytes
        let later = testNow.addingTimeInterval(7 * 86_400)
        #expect(
            (try? testDecoder.decode(subject: "signals.task.synced", headers: [:], body: body, now: later).get()) != nil
        )
    }

    @Test("occurred_at keeps the instant: the offset is applied and the fraction kept")
    func occurredAtInstant() throws {
        func instant(_ text: String) throws -> Date {
            try decode(.taskSynced, Sample.taskSynced.setting("occurred_at", text.json)).get().occurredAt
        }
        let utc = try instant("2026-04-25T10:00:00Z")
        #expect(utc == Date(timeIntervalSince1970: 1_777_111_200))
        #expect(try instant("2026-04-25T12:30:00+02:30") == utc)
        #expect(try instant("2026-04-25T04:00:00-06:00") == utc)
        #expect(try instant("2026-04-25T10:00:00.25Z") == utc.addingTimeInterval(0.25))
        #expect(try instant("2016-12-31T23:59:60Z") == (try instant("2017-01-01T00:00:00Z")))
        #expect(try instant("1969-12-31T23:59:59Z") == Date(timeIntervalSince1970: -1))
    }

    @Test(
        "user_id must be 1–128 characters of [A-Za-z0-9._:@-]",
        arguments: [
            FieldCase.ok("\"u\""), .ok("\"A-z_0.9:@x\""), .ok(String(repeating: "a", count: 128).json),
            .ok("\"svc:router@eu-1\""), .ok("\"\\u0041\""),
            .bad("\"\""), .bad(String(repeating: "a", count: 129).json), .bad("\"user 1\""), .bad("\"user/1\""),
            .bad("\"usér\""), .bad("\"user+1\""), .bad("\"user\\n\""), .bad("\"user\\u0000\""), .bad("42"),
            .bad("null"), .bad("[\"u\"]"),
        ])
    func userID(_ fieldCase: FieldCase) {
        check(.tipFeedback, "user_id", fieldCase)
    }

    @Test(
        "source is prod, synthetic or shadow; absent means prod; null is rejected",
        arguments: [
            FieldCase.ok("\"prod\""), .ok("\"synthetic\""), .ok("\"shadow\""), .absentIsFine, .bad("null"),
            .bad("\"Prod\""), .bad("\"test\""), .bad("\"\""), .bad("1"), .bad("\"prod \""),
        ])
    func source(_ fieldCase: FieldCase) {
        check(.taskSynced, "source", fieldCase)
    }

    @Test("source defaults to prod when absent")
    func sourceDefaultsToProd() throws {
        for (subject, body) in Sample.all {
            let event = try decode(subject, body.setting("source", nil)).get()
            #expect(event.source == .prod)
            let shadow = try decode(subject, body.setting("source", "\"shadow\"")).get()
            #expect(shadow.source == .shadow)
        }
    }

    @Test("the envelope is checked before the subject's own members, schema_version first")
    func checkOrder() {
        let body = Sample.decision.setting("schema_version", "2").setting("event_id", "1").setting("policy", "\"x\"")
        expectRejection(decode(.decision, body), .schemaInvalid, detailPrefix: "schema_version")
        expectRejection(
            decode(.decision, body.setting("schema_version", "1")), .schemaInvalid, detailPrefix: "event_id")
        expectRejection(
            decode(.decision, Sample.decision.setting("policy", "\"x\"").setting("user_id", "\"\"")), .schemaInvalid,
            detailPrefix: "user_id")
    }
}
