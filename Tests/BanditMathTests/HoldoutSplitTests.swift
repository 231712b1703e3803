import Testing

@testable import BanditMath

@Suite struct HoldoutSplitTests {
    @Test func decisionKeysOrderAsTheirBytes() {
        let bytes: [UInt8] = [
            0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0xff,
        ]
        let key = DecisionKey(bytes: bytes)
        #expect(key == DecisionKey(high: 0x0001_0203_0405_0607, low: 0x0809_0a0b_0c0d_0eff))
        var later = bytes
        later[7] = 0x08
        #expect(key < DecisionKey(bytes: later))
        var earlier = bytes
        earlier[15] = 0x00
        #expect(DecisionKey(bytes: earlier) < key)
    }

    @Test func sequentialIdsSplitInTheRequestedProportion() {
        // Ids that are not random (a counter in the low half, as a test or a UUIDv7 burst has) still split
        // evenly: 30 % ± 1 % of 100,000.
        let heldOut = (0..<100_000).filter {
            HoldoutSplit.isHeldOut(DecisionKey(high: 0x0190_0000_0000_7000, low: UInt64($0)), fraction: 0.3)
        }.count
        #expect(heldOut > 29_000 && heldOut < 31_000, "\(heldOut)")
    }

    @Test func theSplitDependsOnTheIdAloneAndALargerFractionHoldsOutASuperset() {
        var generator = SplitMix64(seed: 1)
        for _ in 0..<10_000 {
            let key = DecisionKey(high: generator.next(), low: generator.next())
            let position = HoldoutSplit.position(of: key)
            #expect(position >= 0 && position < 1)
            #expect(HoldoutSplit.position(of: key) == position)
            if HoldoutSplit.isHeldOut(key, fraction: 0.3) { #expect(HoldoutSplit.isHeldOut(key, fraction: 0.5)) }
        }
    }
}
