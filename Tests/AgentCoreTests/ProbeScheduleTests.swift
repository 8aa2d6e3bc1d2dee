import AgentCore
import Testing

/// The schedule state machine, driven with explicit times: no clocks, no sockets.
@Suite struct ProbeScheduleTests {
    let second: UInt64 = 1_000_000_000

    func starts(_ actions: [ProbeSchedule.Action]) -> [String] {
        actions.compactMap { if case .start(let name, _) = $0 { return name } else { return nil } }
    }

    @Test func everyEndpointStartsOnceWithinItsFirstInterval() {
        var schedule = ProbeSchedule(seed: "node-a")
        let names = (0..<1000).map { "endpoint-\($0)" }
        schedule.setEndpoints(names.map { ($0, Duration.seconds(10)) }, now: 0, wallClock: 0)
        var started: [String] = []
        var distinctTimes = Set<UInt64>()
        var now: UInt64 = 0
        while let next = schedule.nextDeadline, next < 10 * second {
            now = next
            distinctTimes.insert(now)
            started += starts(schedule.due(at: now))
        }
        #expect(Set(started) == Set(names))
        #expect(started.count == 1000)
        #expect(distinctTimes.count > 990, "1,000 endpoints are spread over the interval, not bunched")
    }

    @Test func thePhaseIsStableForTheSameSeedAndDiffersAcrossSeeds() {
        func firstDue(seed: String, wallClock: Int64) -> UInt64? {
            var schedule = ProbeSchedule(seed: seed)
            schedule.setEndpoints([("api", .seconds(60))], now: 1000, wallClock: wallClock)
            return schedule.nextDeadline
        }
        let a = firstDue(seed: "node-a", wallClock: 0)
        #expect(a == firstDue(seed: "node-a", wallClock: 0))
        // One interval later on the wall clock, the same phase: the same offset from "now".
        #expect(a == firstDue(seed: "node-a", wallClock: 60_000_000_000))
        #expect(a != firstDue(seed: "node-b", wallClock: 0))
    }

    @Test func aTickDuringAProbeInFlightIsSkippedNotQueued() throws {
        var schedule = ProbeSchedule(seed: "s")
        schedule.setEndpoints([("slow", .seconds(1))], now: 0, wallClock: 0)
        let first = try #require(schedule.nextDeadline)
        #expect(starts(schedule.due(at: first)) == ["slow"])
        #expect(schedule.due(at: first + second) == [.skipInFlight(endpoint: "slow")])
        #expect(schedule.due(at: first + 2 * second) == [.skipInFlight(endpoint: "slow")])
        schedule.finished("slow")
        #expect(starts(schedule.due(at: first + 3 * second)) == ["slow"], "one probe, not the three missed")
    }

    @Test func fallingBehindByWholeIntervalsDropsThoseTicksAndReportsTheLag() throws {
        var schedule = ProbeSchedule(seed: "s")
        schedule.setEndpoints([("api", .seconds(1))], now: 0, wallClock: 0)
        let due = try #require(schedule.nextDeadline)
        let actions = schedule.due(at: due + 3 * second + 250_000_000)
        #expect(actions == [.skipBehind(endpoint: "api", ticks: 3), .start(endpoint: "api", lateBy: 250_000_000)])
        #expect(schedule.nextDeadline == due + 4 * second)
    }

    @Test func reloadingKeepsTheRhythmOfUnchangedEndpointsAndDropsRemovedOnes() throws {
        var schedule = ProbeSchedule(seed: "s")
        schedule.setEndpoints([("keep", .seconds(5)), ("drop", .seconds(5))], now: 0, wallClock: 0)
        var dueTimes: [String: UInt64] = [:]
        while let next = schedule.nextDeadline, next < 5 * second {
            for name in starts(schedule.due(at: next)) {
                dueTimes[name] = next
                schedule.finished(name)
            }
        }
        schedule.setEndpoints([("keep", .seconds(5)), ("new", .seconds(5))], now: 5 * second, wallClock: 5_000_000_000)
        var later: [String: UInt64] = [:]
        while let next = schedule.nextDeadline, next < 10 * second {
            for name in starts(schedule.due(at: next)) {
                later[name] = next
                schedule.finished(name)
            }
        }
        #expect(later["keep"] == dueTimes["keep"]! + 5 * second)
        #expect(later["drop"] == nil)
        #expect(later["new"] != nil)
        #expect(schedule.endpointCount == 2)
    }

    @Test func changingAnIntervalTakesEffectImmediately() throws {
        var schedule = ProbeSchedule(seed: "s")
        schedule.setEndpoints([("api", .seconds(60))], now: 0, wallClock: 0)
        schedule.setEndpoints([("api", .seconds(1))], now: 0, wallClock: 0)
        #expect(try #require(schedule.nextDeadline) < second)
    }
}
