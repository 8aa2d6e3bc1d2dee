import AgentCore
import Logging
import NIOConcurrencyHelpers
import TestSupport
import Testing

/// The engine's schedule against a real server: probes happen at their interval, slow endpoints
/// are skipped rather than piled up, and shutdown waits for probes in flight.
@Suite struct ProbeEngineTests {
    static let server = try! TargetServer()

    @Test func scheduledProbesRunAtTheirIntervalAndSlowOnesAreSkippedNotQueued() async throws {
        let results = NIOLockedValueBox<[ProbeResult]>([])
        let engine = ProbeEngine(seed: "test", logger: Logger(label: "test")) { result in
            results.withLockedValue { $0.append(result) }
        }
        // Timeout above the interval on purpose (the loader forbids it): each probe spans ~3 ticks.
        let fast = EndpointConfig(name: "fast", url: Self.server.url("/ok"), interval: .milliseconds(100), timeout: .seconds(1))
        let slow = EndpointConfig(name: "slow", url: Self.server.url("/delay/350"), interval: .milliseconds(100), timeout: .seconds(1))
        engine.setEndpoints([fast, slow], scrubber: SecretScrubber())
        try await Task.sleep(for: .milliseconds(1600))
        try await withDeadline(seconds: 5, "shutdown") { await engine.shutdown(grace: .seconds(2)) }

        let all = results.withLockedValue { $0 }
        let fastCount = all.filter { $0.endpoint == "fast" }.count
        let slowCount = all.filter { $0.endpoint == "slow" }.count
        // Judged against the span the probes actually covered: the test's own sleep may overrun
        // on a loaded machine, which would only make the run longer.
        let fastStartTimes = all.filter { $0.endpoint == "fast" }.map(\.startedAt)
        let span = ((fastStartTimes.max() ?? .now) - (fastStartTimes.min() ?? .now)).inSeconds
        #expect(fastCount >= 13, "at least 1.3 s of 100 ms ticks, got \(fastCount)")
        #expect(abs(Double(fastCount - 1) - span / 0.1) <= 1, "one probe per 100 ms tick over \(span) s, got \(fastCount)")
        #expect(abs(Double(slowCount) - span / 0.4) <= 1.5, "a 350 ms probe every 400 ms over \(span) s, got \(slowCount)")
        #expect(all.allSatisfy { $0.succeeded })
        let statistics = engine.statistics
        #expect(statistics.skippedInFlight >= 2 * slowCount, "the slow endpoint's ticks were skipped")
        #expect(statistics.completed == all.count, "every started probe finished before shutdown returned")
        #expect(statistics.inFlight == 0)
        #expect(Self.server.requests(to: "/delay/350") == slowCount, "the target saw exactly the recorded probes")
        // The spacing of ticks is the schedule's, checked exactly in ProbeScheduleTests.
    }

    @Test func probesAfterShutdownAreRefused() async throws {
        let engine = ProbeEngine(seed: "test", logger: Logger(label: "test")) { _ in }
        try await withDeadline(seconds: 5) { await engine.shutdown(grace: .seconds(1)) }
        await #expect(throws: ProbeEngine.EngineError.self) {
            try await withDeadline(seconds: 5) {
                try await engine.probe(EndpointConfig(name: "x", url: Self.server.url("/ok")))
            }
        }
    }
}
