import AgentCore
import Logging

/// Probes `endpoint` once on an engine of its own (the `probe` command's path), within a deadline.
public func probeOnce(_ endpoint: EndpointConfig, seconds: Double = 20) async throws -> ProbeResult {
    try await withDeadline(seconds: seconds, "probe of \(endpoint.url)") {
        let engine = ProbeEngine(seed: "test", logger: Logger(label: "test")) { _ in }
        let result = try await engine.probe(endpoint)
        await engine.shutdown(grace: .seconds(1))
        return result
    }
}
