import BanditWorker
import Testing

/// `traceparent` as the W3C Trace Context recommendation defines it (level 1, section 3.2 and
/// "Versioning of traceparent").
struct TraceContextTests {
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let spanID = "00f067aa0ba902b7"

    @Test(arguments: ["01", "00", "ff", "0a"])
    func aValidVersionZeroHeaderGivesItsTraceIDWhateverTheFlags(flags: String) {
        #expect(TraceContext.traceID(fromTraceparent: "00-\(Self.traceID)-\(Self.spanID)-\(flags)") == Self.traceID)
    }

    @Test func noHeaderOrAnEmptyOneGivesNoTraceID() {
        #expect(TraceContext.traceID(fromTraceparent: nil) == nil)
        #expect(TraceContext.traceID(fromTraceparent: "") == nil)
    }

    @Test func versionFFIsInvalid() {
        #expect(TraceContext.traceID(fromTraceparent: "ff-\(Self.traceID)-\(Self.spanID)-01") == nil)
        #expect(TraceContext.traceID(fromTraceparent: "ff-\(Self.traceID)-\(Self.spanID)-01-extra") == nil)
    }

    @Test func anAllZeroTraceIDOrSpanIDIsInvalid() {
        let zeroTrace = String(repeating: "0", count: 32)
        let zeroSpan = String(repeating: "0", count: 16)
        #expect(TraceContext.traceID(fromTraceparent: "00-\(zeroTrace)-\(Self.spanID)-01") == nil)
        #expect(TraceContext.traceID(fromTraceparent: "00-\(Self.traceID)-\(zeroSpan)-01") == nil)
        #expect(TraceContext.traceID(fromTraceparent: "cc-\(Self.traceID)-\(zeroSpan)-01-x") == nil)
    }

    @Test(arguments: [
        "00-\(traceID.dropLast())-\(spanID)-01",  // trace id 31 digits
        "00-\(traceID)0-\(spanID)-01",  // 33
        "00-\(traceID)-\(spanID.dropLast())-01",  // span id 15
        "00-\(traceID)-\(spanID)0-01",  // 17
        "00-\(traceID)-\(spanID)-1",  // flags 1 digit
        "00-\(traceID)-\(spanID)-011",  // 3
        "0-\(traceID)-\(spanID)-01",  // version 1 digit
        "000-\(traceID)-\(spanID)-01",  // 3
        "00-\(traceID)-\(spanID)-01-",  // version 00 allows nothing after the flags
        "00-\(traceID)-\(spanID)-01-extra",
    ])
    func wrongLengthsAreInvalid(header: String) {
        #expect(TraceContext.traceID(fromTraceparent: header) == nil)
    }

    @Test(arguments: [
        "00-\(traceID.uppercased())-\(spanID)-01",
        "00-\(traceID)-\(spanID.uppercased())-01",
        "00-\(traceID)-\(spanID)-0A",
        "0A-\(traceID)-\(spanID)-01",
    ])
    func upperCaseHexIsInvalid(header: String) {
        #expect(TraceContext.traceID(fromTraceparent: header) == nil)
    }

    @Test(arguments: [
        "00-\(traceID.dropLast())g-\(spanID)-01",  // not hex
        "00_\(traceID)_\(spanID)_01",  // not dashes
        "00-\(traceID)-\(spanID)-0g",
        " 00-\(traceID)-\(spanID)-01",
    ])
    func anythingButHexAndDashesIsInvalid(header: String) {
        #expect(TraceContext.traceID(fromTraceparent: header) == nil)
    }

    @Test func aFutureVersionIsReadLikeVersionZeroIgnoringFieldsAfterADash() {
        #expect(TraceContext.traceID(fromTraceparent: "cc-\(Self.traceID)-\(Self.spanID)-01") == Self.traceID)
        #expect(
            TraceContext.traceID(fromTraceparent: "cc-\(Self.traceID)-\(Self.spanID)-01-what-the-future-will-be-like")
                == Self.traceID)
        #expect(TraceContext.traceID(fromTraceparent: "01-\(Self.traceID)-\(Self.spanID)-00-") == Self.traceID)
    }

    @Test func aFutureVersionStillNeedsADashAfterTheFlags() {
        #expect(TraceContext.traceID(fromTraceparent: "cc-\(Self.traceID)-\(Self.spanID)-01x") == nil)
        #expect(TraceContext.traceID(fromTraceparent: "cc-\(Self.traceID)-\(Self.spanID)-0") == nil)
        #expect(TraceContext.traceID(fromTraceparent: "cc-\(Self.traceID.uppercased())-\(Self.spanID)-01-x") == nil)
    }

    @Test func theParsedContextKeepsSpanIDAndFlags() throws {
        let context = try #require(TraceContext.parse("00-\(Self.traceID)-\(Self.spanID)-01"))
        #expect(context.spanID.description == Self.spanID)
        #expect(context.flags.contains(.sampled))
    }
}
