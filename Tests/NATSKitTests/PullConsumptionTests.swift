import Foundation
import NATSKit
import TestSupport
import Testing

/// Publish / fetch / ack / nak / term round trips against a real `nats-server -js`.
@Suite(.natsServer, .serialized)
struct PullConsumptionTests {
    @Test func fetchedMessagesCarrySubjectHeadersBodyAndMetadata() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let test = try TestStream.make(on: server)
            var headers: NATSHeaders = ["Nats-Msg-Id": "id-1", "traceparent": "00-abc-def-01"]
            headers.add("X-Multi", "one")
            headers.add("X-Multi", "two")
            let ack = try test.connection.publish(
                subject: test.subject("reward"), headers: headers, body: Array("{\"a\":1}".utf8))
            #expect(ack.stream == test.stream)
            #expect(ack.sequence == 1)
            _ = try test.publish(2)

            let consumer = try test.pullConsumer()
            let messages = try fetchAll(consumer, count: 3, batch: 10)
            try #require(messages.count == 3)
            let first = messages[0]
            #expect(first.subject == test.subject("reward"))
            #expect(first.body == Array("{\"a\":1}".utf8))
            #expect(first.headers["Nats-Msg-Id"] == "id-1")
            #expect(first.headers["traceparent"] == "00-abc-def-01")
            #expect(first.headers.values(for: "X-Multi") == ["one", "two"])
            #expect(first.metadata.stream == test.stream)
            #expect(first.metadata.consumer == test.consumer)
            #expect(first.metadata.deliveryCount == 1)
            #expect(messages.map(\.metadata.streamSequence) == [1, 2, 3])
            #expect(messages.map(\.metadata.pending) == [2, 1, 0])
            for message in messages { try test.connection.ack(message) }
            try test.connection.flush()
            try waitUntil(timeout: .seconds(5)) {
                try test.connection.consumerInfo(stream: test.stream, consumer: test.consumer).ackPending == 0
            }
            #expect(try consumer.fetch(maxMessages: 10, maxWait: .milliseconds(300)).isEmpty)
        }
    }

    @Test func nakWithDelayRedeliversAfterTheDelayWithTheDeliveryCountIncremented() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let test = try TestStream.make(on: server)
            _ = try test.publish(1)
            let consumer = try test.pullConsumer()
            let first = try #require(try fetchAll(consumer, count: 1).first)
            #expect(first.metadata.deliveryCount == 1)

            let nakAt = ContinuousClock.now
            try test.connection.nak(first, delay: .milliseconds(800))
            try test.connection.flush()
            #expect(try consumer.fetch(maxMessages: 1, maxWait: .milliseconds(300)).isEmpty)
            let again = try #require(try fetchAll(consumer, count: 1, timeout: .seconds(10)).first)
            #expect(ContinuousClock.now - nakAt >= .milliseconds(700))
            #expect(again.metadata.streamSequence == first.metadata.streamSequence)
            #expect(again.metadata.deliveryCount == 2)
            try test.connection.ack(again)
        }
    }

    @Test func nakWithoutDelayRedeliversAtOnce() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let test = try TestStream.make(on: server)
            _ = try test.publish(1)
            let consumer = try test.pullConsumer()
            let first = try #require(try fetchAll(consumer, count: 1).first)
            try test.connection.nak(first)
            let again = try #require(try fetchAll(consumer, count: 1, timeout: .seconds(5)).first)
            #expect(again.metadata.deliveryCount == 2)
            try test.connection.ack(again)
        }
    }

    @Test func termStopsRedelivery() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let test = try TestStream.make(on: server, ackWait: .seconds(1))
            _ = try test.publish(1)
            let consumer = try test.pullConsumer()
            let first = try #require(try fetchAll(consumer, count: 1).first)
            try test.connection.term(first)
            try test.connection.flush()
            // Past the ack wait: an unsettled message would be back by now.
            #expect(try consumer.fetch(maxMessages: 1, maxWait: .milliseconds(2000)).isEmpty)
            #expect(try test.connection.consumerInfo(stream: test.stream, consumer: test.consumer).ackPending == 0)
        }
    }

    @Test func unackedMessageIsRedeliveredAfterAckWait() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let test = try TestStream.make(on: server, ackWait: .seconds(1))
            _ = try test.publish(1)
            let consumer = try test.pullConsumer()
            let first = try #require(try fetchAll(consumer, count: 1).first)
            let again = try #require(try fetchAll(consumer, count: 1, timeout: .seconds(10)).first)
            #expect(again.metadata.streamSequence == first.metadata.streamSequence)
            #expect(again.metadata.deliveryCount == 2)
            try test.connection.ack(again)
        }
    }

    @Test func inProgressKeepsAMessageFromBeingRedelivered() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let test = try TestStream.make(on: server, ackWait: .seconds(1))
            _ = try test.publish(1)
            let consumer = try test.pullConsumer()
            let first = try #require(try fetchAll(consumer, count: 1).first)
            for _ in 0..<5 {
                Thread.sleep(forTimeInterval: 0.4)
                try test.connection.inProgress(first)
            }
            try test.connection.flush()
            // 2 s after the fetch, twice the ack wait: still not redelivered.
            #expect(try consumer.fetch(maxMessages: 1, maxWait: .milliseconds(300)).isEmpty)
            try test.connection.ack(first)
        }
    }

    @Test func maxDeliverBoundsRedeliveries() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let test = try TestStream.make(on: server, maxDeliver: 2)
            _ = try test.publish(1)
            let consumer = try test.pullConsumer()
            let first = try #require(try fetchAll(consumer, count: 1).first)
            try test.connection.nak(first)
            let second = try #require(try fetchAll(consumer, count: 1).first)
            #expect(second.metadata.deliveryCount == 2)
            try test.connection.nak(second)
            try test.connection.flush()
            #expect(try consumer.fetch(maxMessages: 1, maxWait: .milliseconds(1000)).isEmpty)
        }
    }

    @Test func aFetchReturnsAsSoonAsAMessageArrivesUnderLightLoad() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let test = try TestStream.make(on: server)
            let consumer = try test.pullConsumer()
            let publisher = Thread {
                Thread.sleep(forTimeInterval: 0.3)
                _ = try? test.publish(1)
            }
            publisher.start()
            let started = ContinuousClock.now
            let messages = try consumer.fetch(maxMessages: 256, maxWait: .seconds(8))
            // Returned with the one message long before the 8 s max wait ran out.
            #expect(messages.count == 1)
            #expect(ContinuousClock.now - started < .seconds(6))
        }
    }

    @Test func aFetchFillsItsBatchUnderLoad() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let test = try TestStream.make(on: server)
            _ = try test.publish(500)
            let consumer = try test.pullConsumer()
            // The linger is an idle gap, not a budget: generous here so that a busy CI box (the
            // whole suite runs in parallel on 2 cores) cannot stall the delivery that long.
            let batch = try consumer.fetch(maxMessages: 200, maxWait: .seconds(10), linger: .seconds(2))
            #expect(batch.count == 200)
            #expect(batch.map(\.metadata.streamSequence) == Array(1...200))
        }
    }

    /// The nats.c #749 situation: messages of an earlier, timed-out pull still arrive. Here they
    /// are simply the next fetch's messages: every message is seen once, in order, no overflow.
    @Test func messagesOfEarlierTimedOutPullsAreDeliveredExactlyOnceInOrder() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let test = try TestStream.make(on: server)
            let consumer = try test.pullConsumer()
            for _ in 0..<20 {
                #expect(try consumer.fetch(maxMessages: 7, maxWait: .milliseconds(10)).isEmpty)
            }
            let total = 3000
            let publisher = Thread {
                for chunk in 0..<10 {
                    _ = try? test.connection.publishPipelined(
                        (0..<(total / 10)).map { index in
                            NATSConnection.OutgoingMessage(
                                subject: test.subject(), body: Array("\(chunk * (total / 10) + index)".utf8))
                        })
                }
            }
            publisher.start()
            var sequences: [UInt64] = []
            let sizes = [1, 3, 7, 64, 256, 5, 128]
            var round = 0
            let deadline = ContinuousClock.now + .seconds(60)
            while sequences.count < total && ContinuousClock.now < deadline {
                let batch = try consumer.fetch(
                    maxMessages: sizes[round % sizes.count], maxWait: .milliseconds(round % 3 == 0 ? 5 : 100))
                #expect(batch.count <= sizes[round % sizes.count])
                for message in batch { try test.connection.ack(message) }
                sequences += batch.map(\.metadata.streamSequence)
                round += 1
            }
            #expect(sequences == Array(1...UInt64(total)))
        }
    }

    @Test func finishCollectsWhatOpenPullsStillDeliverWithoutAskingForMore() async throws {
        let server = try NATSServer.requireCurrent()
        try await onDedicatedThread {
            let test = try TestStream.make(on: server)
            let consumer = try test.pullConsumer()
            // One message returns the fetch at once and leaves its pull (99 more, 3 s) open.
            _ = try test.publish(1)
            #expect(try consumer.fetch(maxMessages: 100, maxWait: .seconds(3)).count == 1)
            #expect(consumer.openRequests == 1)
            _ = try test.connection.publishPipelined(
                (0..<5).map { _ in NATSConnection.OutgoingMessage(subject: test.subject(), body: Array("x".utf8)) })
            let drained = try consumer.finish(maxWait: .seconds(6))
            #expect(drained.count == 5)
            #expect(consumer.openRequests == 0)
        }
    }
}
