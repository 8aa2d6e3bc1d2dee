import Logging
import ServiceLifecycle

/// Runs the probe schedule as a lifecycle `Service`: probes until graceful shutdown, then lets
/// probes in flight finish (bounded by the longest timeout) so none is cut off half-measured.
public struct ProbeService: Service, CustomStringConvertible {
    public let engine: ProbeEngine
    private let live: LiveConfig
    private let logger: Logger

    public init(engine: ProbeEngine, live: LiveConfig, logger: Logger) {
        self.engine = engine
        self.live = live
        self.logger = logger
    }

    /// What lifecycle logs print: the configuration stays out of them (it may hold credentials).
    public var description: String { "ProbeService" }

    public func run() async throws {
        let configuration = live.configuration
        let endpoints = configuration.endpoints
        engine.setEndpoints(endpoints, scrubber: configuration.scrubber)
        logger.info("probing", metadata: ["endpoints": "\(endpoints.count)"])
        try? await gracefulShutdown()
        let grace = live.configuration.endpoints.map(\.timeout).max() ?? .zero
        await engine.shutdown(grace: grace + .milliseconds(100))
        let statistics = engine.statistics
        logger.info(
            "probing stopped",
            metadata: [
                "probes": "\(statistics.completed)", "skipped_in_flight": "\(statistics.skippedInFlight)",
                "skipped_behind": "\(statistics.skippedBehind)",
                "start_lag_p50_us": "\(statistics.lagQuantile(0.5)?.inMicroseconds ?? 0)",
                "start_lag_p99_us": "\(statistics.lagQuantile(0.99)?.inMicroseconds ?? 0)",
            ])
    }
}
