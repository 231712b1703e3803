import BanditCore
import Foundation
import Testing

/// Rules that apply before any field is read: size, subject, UTF-8, JSON syntax, top level,
/// duplicate names, unknown members.
@Suite("Transport and JSON rules")
struct TransportRuleTests {
    @Test("payload.too_large: a body above max_payload_bytes is rejected before parsing")
    func bodySizeIsCheckedBeforeParsing() {
        let small = EventDecoder(policies: .defaults, maxPayloadBytes: 64)
        let garbage = [UInt8](repeating: 0xFF, count: 65)
        expectRejection(
            decode("signals.task.synced", garbage, decoder: small), .payloadTooLarge, detailPrefix: "body")
        // Checked before the subject too.
        expectRejection(decode("nope", garbage, decoder: small), .payloadTooLarge)
        // The default limit is 65536 bytes: one more is too large, exactly the limit is read.
        let padding = String(repeating: " ", count: 65_536 - Sample.taskSynced.bytes.count)
        let exact = Array((Sample.taskSynced.description + padding).utf8)
        #expect(exact.count == 65_536)
        expectEvent(decode("signals.task.synced", exact))
        expectRejection(decode("signals.task.synced", exact + [0x20]), .payloadTooLarge)
    }

    @Test(
        "subject.unknown: only the five v1 subjects are accepted",
        arguments: [
            "signals.other", "feedback.rewards", "signals.decision.v2", "deadletter.signals.decision",
            "Signals.Decision", "", "signals.>",
        ])
    func unknownSubject(_ subject: String) {
        expectRejection(decode(subject, Sample.taskSynced.bytes), .subjectUnknown, detailPrefix: "subject")
    }

    @Test(
        "json.invalid: the body must be well-formed UTF-8",
        arguments: [
            [0xC0, 0x80],  // overlong NUL
            [0xE0, 0x80, 0xAF],  // overlong
            [0xED, 0xA0, 0x80],  // UTF-16 surrogate
            [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
            [0xF5, 0x80, 0x80, 0x80],  // invalid lead byte
            [0x80],  // lone continuation byte
            [0xE2, 0x82],  // truncated
            [0xFF],
        ] as [[UInt8]])
    func bodyMustBeUTF8(_ bad: [UInt8]) {
        var body = Array("{\"event_id\":\"".utf8) + bad + Array("\"}".utf8)
        expectRejection(decode("signals.task.synced", body), .jsonInvalid, detailPrefix: "body: invalid UTF-8")
        // Also inside an unknown member, which is otherwise ignored.
        body = Array(Sample.taskSynced.setting("note", "\"x\"").description.utf8)
        body.insert(contentsOf: bad, at: body.count - 3)
        expectRejection(decode("signals.task.synced", body), .jsonInvalid)
    }

    @Test("json.invalid: a byte order mark is not accepted")
    func byteOrderMarkIsRejected() {
        expectRejection(decode("signals.task.synced", [0xEF, 0xBB, 0xBF] + Sample.taskSynced.bytes), .jsonInvalid)
    }

    @Test(
        "json.invalid: the body must be strict RFC 8259 JSON",
        arguments: [
            "", "   ", "{", "}", "{\"a\":1,}", "{\"a\":1 \"b\":2}", "{'a':1}", "{a:1}", "{\"a\"1}", "{\"a\":}",
            "{\"a\":[1,]}", "{\"a\":[1 2]}", "{\"a\":01}", "{\"a\":-01}", "{\"a\":+1}", "{\"a\":.5}", "{\"a\":1.}",
            "{\"a\":1e}", "{\"a\":1e+}", "{\"a\":0x10}", "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":-Infinity}",
            "{\"a\":tru}", "{\"a\":True}", "{\"a\":nul}", "{\"a\":\"unterminated}", "{\"a\":\"tab\there\"}",
            "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\uD800\"}", "{\"a\":\"\\uDC00\"}",
            "{\"a\":\"\\uD800\\u0041\"}", "{\"a\":1} x", "{\"a\":1}{}", "{\"a\":1} // comment",
            "{/* c */\"a\":1}", "{\"a\":1}\u{0}", "\u{0C}{\"a\":1}", "[1,2", "\"open",
        ])
    func strictJSON(_ text: String) {
        expectRejection(decode(.taskSynced, text), .jsonInvalid, detailPrefix: "body")
    }

    @Test("json.invalid: nesting deeper than 64 is rejected, even in an ignored member")
    func nestingIsLimited() {
        let deep = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        let tooDeep = String(repeating: "[", count: 60_000)
        expectEvent(decode(.taskSynced, Sample.taskSynced.setting("deep", String(deep.dropFirst().dropLast()))))
        expectRejection(decode(.taskSynced, Sample.taskSynced.setting("deep", deep)), .jsonInvalid)
        expectRejection(decode(.taskSynced, Sample.taskSynced.setting("deep", tooDeep)), .jsonInvalid)
        let objects = String(repeating: "{\"a\":", count: 70) + "1" + String(repeating: "}", count: 70)
        expectRejection(decode(.taskSynced, Sample.taskSynced.setting("deep", objects)), .jsonInvalid)
    }

    @Test(
        "schema.invalid: the top level must be an object",
        arguments: ["[]", "[{\"schema_version\":1}]", "\"text\"", "1", "null", "true", " 42 "])
    func topLevelMustBeAnObject(_ text: String) {
        expectRejection(decode(.taskSynced, text), .schemaInvalid, detailPrefix: "body")
    }

    @Test("json.invalid: a duplicate member name is rejected, known or unknown, escaped or not, at any depth")
    func duplicateNamesAreRejected() {
        let base = Sample.taskSynced.description.dropLast()
        for extra in [
            ",\"task_count\":137", ",\"event_id\":\"0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d01\"",
            ",\"task\\u005fcount\":137", ",\"x\":1,\"x\":1", ",\"x\":1,\"\\u0078\":2", ",\"x\":{\"y\":1,\"y\":2}",
            ",\"x\":[{\"y\":1,\"y\":1}]",
        ] {
            expectRejection(decode(.taskSynced, base + extra + "}"), .jsonInvalid, detailPrefix: "body: duplicate")
        }
        // The same name in different objects is fine.
        expectEvent(decode(.taskSynced, base + ",\"x\":{\"x\":{\"x\":1}},\"y\":[{\"x\":1},{\"x\":1}]}"))
    }

    @Test("unknown members are ignored, whatever their value")
    func unknownMembersAreIgnored() {
        let body = Sample.taskSynced
            .setting("comment", "{\"nested\":[1,2,{\"deep\":null}],\"n\":1e999}")
            .setting("tip_id", "42")  // a member of another subject is unknown here
            .setting("Task_Count", "\"not the same name\"")
            .setting("", "null")
        let event = expectEvent(decode(.taskSynced, body))
        #expect(event?.subject == .taskSynced)
    }

    @Test("a member name with escapes matches the plain name")
    func escapedNamesMatch() throws {
        let body = Sample.taskSynced.removing("task_count").setting("task\\u005fcount", "5")
        guard case .taskSynced(let event) = try decode(.taskSynced, body).get() else {
            Issue.record("wrong subject")
            return
        }
        #expect(event.taskCount == 5)
    }

    @Test("whitespace around tokens is allowed: space, tab, CR, LF")
    func whitespaceIsAllowed() {
        let members = Sample.taskSynced.members.map { " \"\($0.name)\"\r\n:\t\($0.raw) " }
        let text = " \t\r\n{\n" + members.joined(separator: ",\n\t") + "}\n "
        expectEvent(decode(.taskSynced, text))
    }
}
