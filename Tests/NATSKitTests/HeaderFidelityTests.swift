import Foundation
import NATSKit
import TestSupport
import Testing

/// Every header of a received message arrives as it was sent, however many there are.
@Suite(.natsServer, .serialized)
struct HeaderFidelityTests {
    @Test(arguments: [1, 100, 127, 128, 200, 1000])
    func everyHeaderOfAFetchedMessageArrivesWithItsValues(count: Int) async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let test = try TestStream.make(on: server)
            var headers = NATSHeaders()
            for index in 0..<count { headers.add("X-Probe-\(index)", "value \(index)") }
            headers.add("X-Repeated", "first")
            headers.add("X-Repeated", "second")
            _ = try test.connection.publish(subject: test.subject("many"), headers: headers, body: Array("{}".utf8))
            let fetched = try fetchAll(try test.pullConsumer(), count: 1)
            let message = try #require(fetched.first)
            let wrong = (0..<count).filter { message.headers.values(for: "X-Probe-\($0)") != ["value \($0)"] }
            #expect(wrong.isEmpty, "headers lost or misfiled: \(wrong.prefix(5))")
            #expect(message.headers.values(for: "X-Repeated") == ["first", "second"])
            #expect(message.headers.fields.count == count + 2)
            #expect(message.body == Array("{}".utf8))

            // Published again in the order they arrived (cnats reorders them), then read back.
            let again = try test.connection.publish(
                subject: test.subject("again"), headers: message.headers, body: message.body)
            let stored = try #require(try test.connection.getMessage(stream: test.stream, sequence: again.sequence))
            let wrongAgain = (0..<count).filter { stored.headers.values(for: "X-Probe-\($0)") != ["value \($0)"] }
            #expect(wrongAgain.isEmpty, "headers lost or misfiled when published: \(wrongAgain.prefix(5))")
            #expect(stored.headers.values(for: "X-Repeated") == ["first", "second"])
        }
    }

    @Test func headersWhoseNamesArePrefixesOfEachOtherSurviveInAnyOrder() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let test = try TestStream.make(on: server)
            var generator = SystemRandomNumberGenerator()
            for round in 0..<5 {
                // Names like P, P1, P12, P123 …: each a prefix of the next, in a random order.
                var expected: [(name: String, value: String)] = []
                for stem in 0..<40 {
                    var name = "P\(stem)-"
                    for digit in 0..<6 {
                        name += String(digit)
                        expected.append((name, "r\(round)-\(stem)-\(digit)"))
                    }
                }
                expected.shuffle(using: &generator)
                var headers = NATSHeaders()
                for field in expected { headers.add(field.name, field.value) }
                let ack = try test.connection.publish(subject: test.subject("prefix"), headers: headers, body: [1])
                let stored = try #require(try test.connection.getMessage(stream: test.stream, sequence: ack.sequence))
                let fetched = try #require(try fetchAll(try test.pullConsumer(), count: 1).first)
                for field in expected {
                    #expect(stored.headers.values(for: field.name) == [field.value], "stored \(field.name)")
                    #expect(fetched.headers.values(for: field.name) == [field.value], "fetched \(field.name)")
                }
                try test.connection.ack(fetched)
                try test.connection.flush()
            }
        }
    }

    @Test func aHeaderBlockParsesWithItsStatusLineRepeatsAndContinuations() {
        let block = "NATS/1.0 408 Request Timeout\r\nA: 1\r\nB:  two words \r\nA: 3\r\nC: folded\r\n  line\r\n\r\n"
        let headers = NATSHeaders(headerBlock: Array(block.utf8))
        #expect(headers["Status"] == "408")
        #expect(headers["Description"] == "Request Timeout")
        #expect(headers.values(for: "A") == ["1", "3"])
        #expect(headers["B"] == "two words")
        #expect(headers["C"] == "folded line")
        #expect(NATSHeaders(headerBlock: Array("NATS/1.0 503\r\n\r\n".utf8)).fields.map(\.name) == ["Status"])
        #expect(NATSHeaders(headerBlock: Array("NATS/1.0\r\n\r\n".utf8)).isEmpty)
    }
}
