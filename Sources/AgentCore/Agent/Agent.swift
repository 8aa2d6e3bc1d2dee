import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// The composition root: turns a loaded configuration into the running services.
public enum Agent {
    /// Runs until SIGTERM or SIGINT. Every result goes to the spool; with `printResults`, also
    /// as a JSON line on standard output.
    ///
    /// Services stop in reverse order: the prober first (probes in flight finish), then each
    /// output makes a last push of everything spooled, then the spool closes.
    public static func run(config: AgentConfig, printResults: Bool, logger: Logger) async throws {
        let node = config.agent.node
        let spool = try openSpool(config, logger: logger)
        let engine = ProbeEngine(seed: node, logger: logger) { result in
            spool.append(result)
            if printResults { LineWriter.write(result.jsonLine(node: node) + "\n", to: STDOUT_FILENO) }
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let pushgateway = config.outputs.pushgateway {
            services.append(
                .init(
                    service: PushgatewayOutput(
                        config: pushgateway, agent: config.agent, endpoints: config.endpoints, spool: spool,
                        logger: logger)))
        }
        services.append(.init(service: ProbeService(engine: engine, endpoints: config.endpoints, logger: logger)))
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info(
            "latency-agent starting",
            metadata: [
                "version": "\(AgentVersion.current)", "node": "\(node)", "spool": "\(config.spool.path)",
                "outputs": "\(config.outputs.readerNames.joined(separator: ","))",
            ])
        try await group.run()
        await spool.close()
    }

    /// Opens the configured spool, or says what to fix.
    public static func openSpool(_ config: AgentConfig, logger: Logger) throws(AgentError) -> Spool {
        do {
            return try Spool(settings: config.spool, readers: config.outputs.readerNames, logger: logger)
        } catch {
            throw AgentError(
                message: "cannot open the spool at \(config.spool.path): \(error); "
                    + "check that the directory is writable by this user and on a local disk")
        }
    }
}

/// A start-up failure outside the configuration file itself.
public struct AgentError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
