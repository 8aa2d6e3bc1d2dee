@testable import AgentCore
import Testing

/// What the spool deletes and what counts as lost, from numbers alone.
@Suite struct SpoolRetentionTests {
    func facts(first: UInt64 = 1, last: UInt64 = 1000, used: Int = 100_000, map: Int = 1_000_000, passed: UInt64 = 1000,
               expired: UInt64? = nil) -> SpoolRetention.Facts {
        SpoolRetention.Facts(first: first, last: last, usedBytes: used, mapBytes: map, passed: passed, expiredThrough: expired)
    }

    @Test func expiredRecordsGoOnlyOnceEveryReaderPassedThem() {
        #expect(SpoolRetention.routine(facts(passed: 300, expired: 500)) == .init(deleteThrough: 300, dropped: 0), "unread records stay")
        #expect(SpoolRetention.routine(facts(passed: 1000, expired: 500)) == .init(deleteThrough: 500, dropped: 0), "recent records stay")
        #expect(SpoolRetention.routine(facts(passed: 1000, expired: nil)) == nil)
        #expect(SpoolRetention.routine(facts(first: 10, passed: 5, expired: 500)) == nil, "nothing passed yet")
    }

    @Test func aRoutinePassDeletesAtMostFiftyThousand() {
        let plan = SpoolRetention.routine(facts(first: 1, last: 200_000, passed: 200_000, expired: 150_000))
        #expect(plan == .init(deleteThrough: 50_000, dropped: 0))
    }

    @Test func pastTheSoftLimitTheOldestGoAndUnreadOnesAreCountedAsDropped() {
        // 1,000 records of 800 bytes fill 80 % of the map; 60 % keeps 750.
        let plan = SpoolRetention.routine(facts(used: 800_000, passed: 100))
        #expect(plan == .init(deleteThrough: 250, dropped: 150), "101…250 had not reached every reader")
        #expect(SpoolRetention.routine(facts(used: 700_000, passed: 100)) == nil, "below 75 % nothing goes for size")
    }

    @Test func aFullMapHalvesAndAlwaysGainsRealRoom() {
        #expect(SpoolRetention.mapFull(facts(used: 1_000_000, passed: 0)) == .init(deleteThrough: 500, dropped: 500))
        // Tiny records: half the map would keep them all, yet a tenth still goes.
        #expect(SpoolRetention.mapFull(facts(used: 10_000, passed: 1000)) == .init(deleteThrough: 100, dropped: 0))
    }

    @Test func withNoReadersNothingCountsAsDropped() {
        #expect(SpoolRetention.mapFull(facts(used: 1_000_000, passed: .max))?.dropped == 0)
    }

    @Test func deliveredOutboxEventsGoAndWithoutReceiversAllDo() {
        #expect(SpoolRetention.outboxDeleteThrough(receiverCursors: [7, 3, 9]) == 3)
        #expect(SpoolRetention.outboxDeleteThrough(receiverCursors: []) == .max)
    }
}
