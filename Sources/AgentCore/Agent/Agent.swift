import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// The composition root: turns a loaded configuration into running services.
///
/// Services stop in reverse order: the prober first (probes in flight finish), then each output
/// makes a last push of everything spooled, then the spool closes.
public struct Agent: Sendable {
    public let spool: Spool
    public let engine: ProbeEngine
    private let group: ServiceGroup
    private let logger: Logger
    private let config: AgentConfig

    /// - Parameters:
    ///   - printResults: also write every result as a JSON line on standard output.
    ///   - stopSignals: the signals that stop the agent gracefully (none in tests, which call `shutdown()`).
    public init(
        config: AgentConfig, printResults: Bool = false, stopSignals: [UnixSignal] = [.sigterm, .sigint],
        logger: Logger
    ) throws(AgentError) {
        let node = config.agent.node
        let spool = try Self.openSpool(config, logger: logger)
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
        if let loki = config.outputs.loki {
            services.append(.init(service: LokiOutput(config: loki, agent: config.agent, spool: spool, logger: logger)))
        }
        services.append(.init(service: ProbeService(engine: engine, endpoints: config.endpoints, logger: logger)))
        self.group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: stopSignals, logger: logger))
        self.spool = spool
        self.engine = engine
        self.logger = logger
        self.config = config
    }

    /// Runs until a stop signal or `shutdown()`, then closes the spool.
    public func run() async throws {
        logger.info(
            "latency-agent starting",
            metadata: [
                "version": "\(AgentVersion.current)", "node": "\(config.agent.node)", "spool": "\(config.spool.path)",
                "outputs": "\(config.outputs.readerNames.joined(separator: ","))",
            ])
        try await group.run()
        await spool.close()
    }

    /// Starts the graceful shutdown that `run()` completes.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
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
