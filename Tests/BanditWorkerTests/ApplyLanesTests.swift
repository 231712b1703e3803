import BanditCore
import Foundation
import Testing

@testable import BanditWorker

@Suite struct ApplyLanesTests {
    @Test func oneUserAlwaysGoesToOneLane() {
        let lanes = ApplyLanes(count: 3)
        for index in 0..<500 {
            let user = "user-\(index)"
            #expect(lanes.lane(ofUser: user) == lanes.lane(ofUser: String(user)))
            #expect((0..<3).contains(lanes.lane(ofUser: user)))
        }
    }

    @Test func theLaneOfAUserIsStableAcrossReleases() {
        // FNV-1a 64: fixed values, so daemons of different versions agree (and Swift's seeded
        // Hasher is never used for it).
        let lanes = ApplyLanes(count: 2)
        #expect(lanes.lane(ofUser: "") == Int(0xcbf2_9ce4_8422_2325 as UInt64 % 2))
        #expect(lanes.lane(ofUser: "a") == Int(0xaf63_dc4c_8601_ec8c as UInt64 % 2))
        #expect(ApplyLanes(count: 1).lane(ofUser: "anyone") == 0)
    }

    @Test func usersSpreadOverTheLanes() {
        let lanes = ApplyLanes(count: 2)
        let counts = (0..<1000).reduce(into: [0, 0]) { counts, index in counts[lanes.lane(ofUser: "user-\(index)")] += 1
        }
        #expect(counts.allSatisfy { $0 > 400 }, "\(counts)")
    }
}
