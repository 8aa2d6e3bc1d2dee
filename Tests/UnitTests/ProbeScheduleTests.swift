@testable import AgentCore
import Testing

/// The schedule state machine, driven with explicit times: no clocks, no sockets.
@Suite struct ProbeScheduleTests {
    let second: UInt64 = 1_000_000_000

    func at(_ nanoseconds: UInt64) -> MonotonicInstant { MonotonicInstant(nanoseconds: nanoseconds) }
    func wall(_ nanoseconds: Int64) -> Timestamp { Timestamp(unixNanoseconds: nanoseconds) }

    func starts(_ actions: [ProbeSchedule.Action]) -> [String] {
        actions.compactMap { if case .start(let name, _) = $0 { return name } else { return nil } }
    }

    @Test func everyEndpointStartsOnceWithinItsFirstInterval() {
        var schedule = ProbeSchedule(seed: "node-a")
        let names = (0..<1000).map { "endpoint-\($0)" }
        schedule.setEndpoints(names.map { ($0, Duration.seconds(10)) }, now: at(0), wallClock: wall(0))
        var started: [String] = []
        var distinctTimes = Set<UInt64>()
        var now: UInt64 = 0
        while let next = schedule.nextDeadline?.nanoseconds, next < 10 * second {
            now = next
            distinctTimes.insert(now)
            started += starts(schedule.due(at: at(now)))
        }
        #expect(Set(started) == Set(names))
        #expect(started.count == 1000)
        #expect(distinctTimes.count > 990, "1,000 endpoints are spread over the interval, not bunched")
    }

    @Test func thePhaseIsStableForTheSameSeedAndDiffersAcrossSeeds() {
        func firstDue(seed: String, wallClock: Int64) -> UInt64? {
            var schedule = ProbeSchedule(seed: seed)
            schedule.setEndpoints([("api", .seconds(60))], now: at(1000), wallClock: wall(wallClock))
            return schedule.nextDeadline?.nanoseconds
        }
        let a = firstDue(seed: "node-a", wallClock: 0)
        #expect(a == firstDue(seed: "node-a", wallClock: 0))
        // One interval later on the wall clock, the same phase: the same offset from "now".
        #expect(a == firstDue(seed: "node-a", wallClock: 60_000_000_000))
        #expect(a != firstDue(seed: "node-b", wallClock: 0))
    }

    @Test func aTickDuringAProbeInFlightIsSkippedNotQueued() throws {
        var schedule = ProbeSchedule(seed: "s")
        schedule.setEndpoints([("slow", .seconds(1))], now: at(0), wallClock: wall(0))
        let first = try #require(schedule.nextDeadline?.nanoseconds)
        #expect(starts(schedule.due(at: at(first))) == ["slow"])
        #expect(schedule.due(at: at(first + second)) == [.skipInFlight(endpoint: "slow")])
        #expect(schedule.due(at: at(first + 2 * second)) == [.skipInFlight(endpoint: "slow")])
        schedule.finished("slow")
        #expect(starts(schedule.due(at: at(first + 3 * second))) == ["slow"], "one probe, not the three missed")
    }

    @Test func fallingBehindByWholeIntervalsDropsThoseTicksAndReportsTheLag() throws {
        var schedule = ProbeSchedule(seed: "s")
        schedule.setEndpoints([("api", .seconds(1))], now: at(0), wallClock: wall(0))
        let due = try #require(schedule.nextDeadline?.nanoseconds)
        let actions = schedule.due(at: at(due + 3 * second + 250_000_000))
        #expect(actions == [.skipBehind(endpoint: "api", ticks: 3), .start(endpoint: "api", lateBy: .milliseconds(250))])
        #expect(schedule.nextDeadline?.nanoseconds == due + 4 * second)
    }

    @Test func reloadingKeepsTheRhythmOfUnchangedEndpointsAndDropsRemovedOnes() throws {
        var schedule = ProbeSchedule(seed: "s")
        schedule.setEndpoints([("keep", .seconds(5)), ("drop", .seconds(5))], now: at(0), wallClock: wall(0))
        var dueTimes: [String: UInt64] = [:]
        while let next = schedule.nextDeadline?.nanoseconds, next < 5 * second {
            for name in starts(schedule.due(at: at(next))) {
                dueTimes[name] = next
                schedule.finished(name)
            }
        }
        schedule.setEndpoints([("keep", .seconds(5)), ("new", .seconds(5))], now: at(5 * second), wallClock: wall(5_000_000_000))
        var later: [String: UInt64] = [:]
        while let next = schedule.nextDeadline?.nanoseconds, next < 10 * second {
            for name in starts(schedule.due(at: at(next))) {
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
        schedule.setEndpoints([("api", .seconds(60))], now: at(0), wallClock: wall(0))
        schedule.setEndpoints([("api", .seconds(1))], now: at(0), wallClock: wall(0))
        #expect(try #require(schedule.nextDeadline?.nanoseconds) < second)
    }
}
