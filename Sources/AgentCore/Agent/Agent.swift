import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The composition root: turns a loaded configuration into running services.
///
/// Services stop in reverse order: the prober first (probes in flight finish), then each output
/// makes a last delivery of everything spooled, then the server, then the spool closes.
public final class Agent: Sendable {
    public let spool: Spool
    public let engine: ProbeEngine
    public let live: LiveConfig
    public let board: StatusBoard
    public let outputHealth: OutputHealth
    public let alertState: AlertState
    private let group: ServiceGroup
    private let logger: Logger
    private let reloader: ConfigReloader
    private let port = BoundPort()

    /// - Parameters:
    ///   - loadConfig: reads the configuration again for a reload (SIGHUP, `POST /-/reload`);
    ///     nil when there is nothing to reload from.
    ///   - printResults: also write every result as a JSON line on standard output.
    ///   - stopSignals: the signals that stop the agent gracefully (none in tests, which call `shutdown()`).
    public init(
        config: AgentConfig, loadConfig: (@Sendable () throws(ConfigError) -> AgentConfig)? = nil,
        printResults: Bool = false, stopSignals: [UnixSignal] = [.sigterm, .sigint], logger: Logger
    ) throws(AgentError) {
        let node = config.agent.node
        let spool = try Self.openSpool(config, logger: logger)
        let metrics = SelfMetrics()
        let engine = ProbeEngine(seed: node, logger: logger, observer: metrics.probeObserver) { result in
            spool.append(result)
            if printResults { LineWriter.write(result.jsonLine(node: node) + "\n", to: STDOUT_FILENO) }
        }
        let live = LiveConfig(config)
        let outputHealth = OutputHealth()
        let alertState = AlertState()
        let pushgateway = config.outputs.pushgateway
        let board = StatusBoard(
            buckets: pushgateway?.buckets ?? PushgatewayConfig.defaultBuckets,
            phaseBuckets: pushgateway?.phaseBuckets ?? PushgatewayConfig.defaultPhaseBuckets,
            uptimeWindow: pushgateway?.uptimeWindow ?? .seconds(3600))
        self.spool = spool
        self.engine = engine
        self.live = live
        self.board = board
        self.outputHealth = outputHealth
        self.alertState = alertState
        self.logger = logger
        let reloader = ConfigReloader(load: loadConfig, live: live, engine: engine, logger: logger)
        self.reloader = reloader

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let server = config.server {
            // The board only serves the server's pages.
            services.append(.init(service: StatusBoard.Reader(board: board, spool: spool, logger: logger)))
            let reload: @Sendable () async -> Result<String, ConfigError> = { await reloader.reload() }
            let context = AgentServer.Context(
                live: live, engine: engine, spool: spool, board: board, outputs: outputHealth, alerts: alertState,
                metrics: metrics, startedAt: WallClock.now(), reload: reload)
            let port = port
            services.append(.init(service: AgentServer.service(server, context: context, boundPort: { bound in
                port.value.store(bound, ordering: .relaxed)
            }, logger: logger)))
        }
        if let pushgateway {
            services.append(.init(service: PushgatewayOutput(
                config: pushgateway, agent: config.agent, live: live, spool: spool, health: outputHealth, logger: logger)))
        }
        if let loki = config.outputs.loki {
            services.append(.init(service: LokiOutput(config: loki, agent: config.agent, spool: spool, health: outputHealth, logger: logger)))
        }
        if let alerting = config.alerting {
            services.append(.init(service: AlertService(config: alerting, live: live, spool: spool, state: alertState, logger: logger)))
            for receiver in alerting.receivers {
                services.append(.init(service: SlackSender(
                    receiver: receiver, node: node, groupingWindow: alerting.groupingWindow, spool: spool, health: outputHealth,
                    logger: logger)))
            }
        }
        services.append(.init(service: ReloadService(reload: { await reloader.reload() })))
        services.append(.init(service: ProbeService(engine: engine, live: live, logger: logger)))
        self.group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: stopSignals, logger: logger))
    }

    /// Runs until a stop signal or `shutdown()`, then closes the spool.
    public func run() async throws {
        let config = live.config
        logger.info(
            "latency-agent starting",
            metadata: [
                "version": "\(AgentVersion.current)", "node": "\(config.agent.node)", "spool": "\(config.spool.path)",
                "outputs": "\(config.outputs.readerNames.joined(separator: ","))",
                "server": "\(config.server.map { "\($0.address):\($0.port)" } ?? "off")",
            ])
        try await group.run()
        await spool.close()
    }

    /// Starts the graceful shutdown that `run()` completes.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }

    /// The port the HTTP server listens on, once it does.
    public var serverPort: Int? {
        let value = port.value.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }

    /// Re-reads the configuration now, as SIGHUP and `POST /-/reload` do.
    public func reload() async -> Result<String, ConfigError> {
        await reloader.reload()
    }

    /// Opens the configured spool, or says what to fix.
    public static func openSpool(_ config: AgentConfig, logger: Logger) throws(AgentError) -> Spool {
        do {
            return try Spool(
                settings: config.spool, readers: config.spoolReaders, outboxReaders: config.outboxReaders, logger: logger)
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

/// The HTTP server's port once it listens (0 before), shared with its start-up callback.
private final class BoundPort: Sendable {
    let value = Atomic<Int>(0)
}
