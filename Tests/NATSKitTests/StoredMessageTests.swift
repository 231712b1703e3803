import Foundation
import TestSupport
import Testing

@testable import NATSKit

/// Reading and deleting stream messages by sequence, without a consumer.
@Suite(.natsServer)
struct StoredMessageTests {
    private func stream() throws -> TestStream {
        try TestStream.make(on: try NATSServer.requireCurrent())
    }

    @Test func getMessageReturnsSubjectHeadersBodySequenceAndTime() throws {
        let test = try stream()
        let before = Date().addingTimeInterval(-1)
        let ack = try test.connection.publish(
            subject: test.subject("a"), headers: ["Nats-Msg-Id": "m1", "X-Two": "one", "X-Two": "two"],
            body: Array(#"{"k":"v"}"#.utf8))
        let message = try #require(try test.connection.getMessage(stream: test.stream, sequence: ack.sequence))
        #expect(message.subject == test.subject("a"))
        #expect(message.sequence == ack.sequence)
        #expect(message.body == Array(#"{"k":"v"}"#.utf8))
        #expect(message.headers["Nats-Msg-Id"] == "m1")
        #expect(message.headers.values(for: "X-Two") == ["one", "two"])
        let storedAt = try #require(message.storedAt)
        #expect(storedAt > before && storedAt < Date().addingTimeInterval(1))
    }

    @Test func aMessageWithoutHeadersOrBodyReadsBackEmpty() throws {
        let test = try stream()
        let ack = try test.connection.publish(subject: test.subject("empty"), body: [])
        let message = try #require(try test.connection.getMessage(stream: test.stream, sequence: ack.sequence))
        #expect(message.body.isEmpty)
        #expect(message.headers.isEmpty)
    }

    @Test func readingDoesNotConsume() throws {
        let test = try stream()
        _ = try test.publish(3)
        for sequence in UInt64(1)...3 { _ = try test.connection.getMessage(stream: test.stream, sequence: sequence) }
        let info = try test.connection.consumerInfo(stream: test.stream, consumer: test.consumer)
        #expect(info.pending == 3)
        #expect(info.ackPending == 0)
        #expect(try test.connection.streamInfo(test.stream).state.messages == 3)
    }

    @Test func nextMessageWalksASubjectFilterInSequenceOrder() throws {
        let test = try stream()
        _ = try test.publish(2, suffix: "x")
        _ = try test.publish(2, suffix: "y")
        try test.connection.publish(subject: test.subject("x"), body: [])
        var sequences: [UInt64] = []
        var from: UInt64 = 1
        while let message = try test.connection.nextMessage(stream: test.stream, from: from, subject: test.subject("x"))
        {
            sequences.append(message.sequence)
            from = message.sequence + 1
        }
        #expect(sequences == [1, 2, 5])
        let all = try test.connection.nextMessage(stream: test.stream, from: 3, subject: "\(test.subjectPrefix).>")
        #expect(all?.sequence == 3)
    }

    @Test func aMissingSequenceIsNil() throws {
        let test = try stream()
        _ = try test.publish(1)
        #expect(try test.connection.getMessage(stream: test.stream, sequence: 99) == nil)
        #expect(try test.connection.nextMessage(stream: test.stream, from: 2, subject: test.subject()) == nil)
    }

    @Test func deleteMessageRemovesItOnceAndReportsAMissingOne() throws {
        let test = try stream()
        _ = try test.publish(3)
        #expect(try test.connection.deleteMessage(stream: test.stream, sequence: 2))
        #expect(try test.connection.getMessage(stream: test.stream, sequence: 2) == nil)
        #expect(try test.connection.nextMessage(stream: test.stream, from: 2, subject: test.subject())?.sequence == 3)
        #expect(try !test.connection.deleteMessage(stream: test.stream, sequence: 2))
        #expect(try test.connection.streamInfo(test.stream).state.messages == 2)
    }

    @Test func anUnknownStreamIsAnError() throws {
        let test = try stream()
        #expect(throws: NATSError.self) { try test.connection.getMessage(stream: "NOPE", sequence: 1) }
    }

    @Test func headerBlocksParseLikeTheServerWritesThem() {
        let headers = StoredMessage.parseHeaderBlock(Array("NATS/1.0\r\nA: 1\r\nB:two words \r\nA: 3\r\n\r\n".utf8))
        #expect(headers.values(for: "A") == ["1", "3"])
        #expect(headers["B"] == "two words")
    }

    @Test func serverTimesParseWithNanoseconds() throws {
        let date = try #require(StoredMessage.parseTime("2026-11-26T10:30:00.123456789Z"))
        #expect(abs(date.timeIntervalSince1970 - 1_795_689_000.123456) < 1e-5)
        #expect(StoredMessage.parseTime("2026-11-26T10:30:00Z") != nil)
    }
}
