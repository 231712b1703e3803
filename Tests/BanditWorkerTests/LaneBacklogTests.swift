import BanditCore
import NATSKit
import Testing

@testable import BanditWorker

/// The fetcher's backlog for held lanes: per-lane order, whole parts, counts.
@Suite struct LaneBacklogTests {
    /// A part of `count` undecodable messages whose stream sequences start at `first`.
    private func part(_ first: UInt64, _ count: Int) throws -> FetchedBatch {
        let messages = try (0..<UInt64(count)).map { offset in
            try #require(
                JetStreamMessage(
                    subject: "feedback.reward", body: [],
                    ackSubject: "$JS.ACK.FEEDBACK.c.1.\(first + offset).\(first + offset).0.0"))
        }
        return FetchedBatch(
            messages: messages,
            decoded: messages.map { _ in .failure(Rejection(reason: .jsonInvalid, detail: "test")) })
    }

    private func sequences(_ batch: FetchedBatch?) -> [UInt64] {
        batch?.messages.map(\.metadata.streamSequence) ?? []
    }

    @Test func anEmptyBacklogHasNothingForAnyLane() {
        var backlog = LaneBacklog(lanes: 2)
        #expect(backlog.isEmpty && backlog.count == 0 && backlog.waitingLanes.isEmpty)
        #expect(!backlog.hasParts(for: 0) && !backlog.hasParts(for: 1))
        #expect(backlog.takeBatch(for: 1, limit: 10) == nil)
        backlog.append(FetchedBatch(messages: [], decoded: []), for: 0)
        #expect(backlog.isEmpty && !backlog.hasParts(for: 0))
    }

    @Test func partsComeBackInOrderMergedUpToTheLimitButNeverCut() throws {
        var backlog = LaneBacklog(lanes: 3)
        backlog.append(try part(1, 2), for: 1)
        backlog.append(try part(10, 1), for: 2)
        backlog.append(try part(3, 3), for: 1)
        backlog.append(try part(6, 4), for: 1)
        #expect(backlog.count == 10 && backlog.waitingLanes == [1, 2])
        #expect(backlog.messages.count == 10)

        // 2 + 3 fit in 5; the next part (4) would not.
        let first = backlog.takeBatch(for: 1, limit: 5)
        #expect(sequences(first) == [1, 2, 3, 4, 5])
        #expect(first?.decoded.count == 5)
        #expect(backlog.count == 5)
        // A part larger than the limit comes whole.
        #expect(sequences(backlog.takeBatch(for: 1, limit: 1)) == [6, 7, 8, 9])
        #expect(!backlog.hasParts(for: 1) && backlog.waitingLanes == [2])
        #expect(sequences(backlog.takeBatch(for: 2, limit: 100)) == [10])
        #expect(backlog.isEmpty)
    }

    @Test func aBatchPutBackComesFirstAgain() throws {
        var backlog = LaneBacklog(lanes: 2)
        backlog.append(try part(1, 2), for: 0)
        backlog.append(try part(3, 2), for: 0)
        let next = backlog.takeBatch(for: 0, limit: 2)
        let taken = try #require(next)
        #expect(backlog.count == 2)
        backlog.putBack(taken, for: 0)
        #expect(backlog.count == 4)
        #expect(sequences(backlog.takeBatch(for: 0, limit: 10)) == [1, 2, 3, 4])
    }
}
