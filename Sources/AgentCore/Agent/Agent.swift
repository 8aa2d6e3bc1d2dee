import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// The composition root: turns a loaded configuration into the running services.
public enum Agent {
    /// Runs until SIGTERM or SIGINT. Until the spool exists, each result is printed as a JSON line
    /// on standard output.
    public static func run(config: AgentConfig, logger: Logger) async throws {
        let node = config.agent.node
        let engine = ProbeEngine(seed: node, logger: logger) { result in
            LineWriter.write(result.jsonLine(node: node) + "\n", to: STDOUT_FILENO)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: ProbeService(engine: engine, endpoints: config.endpoints, logger: logger))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("latency-agent starting", metadata: ["version": "\(AgentVersion.current)", "node": "\(node)"])
        try await group.run()
    }
}
