import Foundation
import Testing

@testable import BanditCore

/// `StrictEventDecoder` as a `Decoder`, for any `Decodable` (the events are one use of it).
@Suite("The strict Decoder")
struct StrictDecoderTests {
    /// Decodes `T` from `body` (members of `subject`) with the strict decoder.
    static func strict<T: Decodable>(
        _ type: T.Type, _ body: String, subject: EventSubject = .decision
    ) throws -> T {
        let bytes = Array(body.utf8)
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(Rejection) -> Result<T, any Error> in
                try testDecoder.withStrictDecoder(subject, buffer, now: testNow) { (decoder) throws(Rejection) in
                    Result { try T(from: decoder) }
                }
            }
        }
        return try result.get().get()
    }

    struct Count: Decodable {
        let count: Int
        enum CodingKeys: String, CodingKey { case count = "task_count" }
    }

    @Test("decode(Int.self) takes integer tokens only: 1.0 and 1e0 are not integers")
    func integersMustBeIntegers() throws {
        #expect(try Self.strict(Count.self, #"{"task_count": 5}"#, subject: .taskSynced).count == 5)
        #expect(try Self.strict(Count.self, #"{"task_count": -0}"#, subject: .taskSynced).count == 0)
        for text in ["5.0", "5e0", "\"5\"", "true", "99999999999999999999"] {
            #expect(throws: DecodingError.self) {
                _ = try Self.strict(Count.self, "{\"task_count\": \(text)}", subject: .taskSynced)
            }
        }
    }

    struct OptionalSource: Decodable {
        let source: String?
        enum CodingKeys: String, CodingKey { case source }
    }

    @Test("decodeNil rejects null: an optional member given as null is not absent")
    func nullIsNotAbsent() throws {
        #expect(try Self.strict(OptionalSource.self, #"{"source": "prod"}"#).source == "prod")
        #expect(try Self.strict(OptionalSource.self, #"{}"#).source == nil)
        #expect {
            _ = try Self.strict(OptionalSource.self, #"{"source": null}"#)
        } throws: { error in
            guard case DecodingError.valueNotFound(_, let context) = error else { return false }
            return context.codingPath.map(\.stringValue) == ["source"]
        }
    }

    struct Numbers: Decodable {
        let values: [Double]
        enum CodingKeys: String, CodingKey { case values = "features" }
    }

    @Test("a number beyond Double's range is an error, never infinity; the path names the element")
    func numbersAreFinite() throws {
        #expect(try Self.strict(Numbers.self, #"{"features": [1, 2.5, -3e2]}"#).values == [1, 2.5, -300])
        #expect {
            _ = try Self.strict(Numbers.self, #"{"features": [1, 1e400]}"#)
        } throws: { error in
            guard case DecodingError.dataCorrupted(let context) = error else { return false }
            return context.codingPath.map(\.stringValue) == ["features", "1"]
        }
        #expect(throws: DecodingError.self) { _ = try Self.strict(Numbers.self, #"{"features": [1, "2"]}"#) }
    }

    struct Nested: Decodable {
        struct Inner: Decodable, Equatable {
            let name: String
            let flags: [Bool]
            let depth: Inner2?
        }
        struct Inner2: Decodable, Equatable {
            let level: UInt8
        }
        let inner: Inner
        let words: [String]
        enum CodingKeys: String, CodingKey {
            case inner = "features"
            case words = "candidates"
        }
    }

    @Test("nested objects and arrays decode through keyed, unkeyed and single-value containers")
    func nestedContainers() throws {
        let value = try Self.strict(
            Nested.self,
            #"{"features": {"name": "x\u0041", "flags": [true, false], "depth": {"level": 7}}, "candidates": ["a", "b"]}"#
        )
        #expect(value.inner == Nested.Inner(name: "xA", flags: [true, false], depth: Nested.Inner2(level: 7)))
        #expect(value.words == ["a", "b"])
        #expect(throws: DecodingError.self) {
            _ = try Self.strict(
                Nested.self, #"{"features": {"name": "x", "flags": [], "depth": {"level": 300}}, "candidates": []}"#)
        }
    }

    @Test("the registry and the clock are in userInfo; members of other subjects are not keys")
    func userInfoAndKeys() throws {
        struct Probe: Decodable {
            let clock: Date?
            let policies: Int
            let keys: [String]
            init(from decoder: any Decoder) throws {
                clock = decoder.userInfo[.eventClock] as? Date
                policies = (decoder.userInfo[.policyRegistry] as? PolicyRegistry)?.policies.count ?? 0
                keys = try decoder.container(keyedBy: Field.self).allKeys.map(\.stringValue)
            }
        }
        let probe = try Self.strict(
            Probe.self, #"{"task_count": 1, "tip_id": "t", "event_id": "x"}"#, subject: .taskSynced)
        #expect(probe.clock == testNow)
        #expect(probe.policies == 4)
        #expect(probe.keys == ["event_id", "task_count"])
    }
}
