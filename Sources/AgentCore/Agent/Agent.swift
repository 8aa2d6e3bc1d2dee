import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The composition root: turns a loaded configuration into running services.
///
/// Services stop in reverse order of registration: the prober first (probes in flight finish),
/// then the alert evaluator turns the last results into events, then each output makes a last
/// delivery of everything spooled, then the receivers, the server and the status board; then the
/// spool closes.
public final class Agent: Sendable {
    public let spool: Spool
    public let engine: ProbeEngine
    public let live: LiveConfig
    public let board: StatusBoard
    public let health: ReaderHealth
    public let alertState: AlertState
    public let discovery: DiscoveryStatus
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
        config: Configuration, loadConfig: (@Sendable () throws(ConfigError) -> Configuration)? = nil,
        printResults: Bool = false, stopSignals: [UnixSignal] = [.sigterm, .sigint], logger: Logger
    ) throws(AgentError) {
        SystemError.raiseOpenFileLimit()
        let node = config.agent.node
        let spool = try Self.openSpool(config, logger: logger)
        let metrics = SelfMetrics()
        let engine = ProbeEngine(seed: node, logger: logger, observer: metrics.probeObserver) { result in
            spool.append(result)
            if printResults { LineWriter.write(bytes: result.jsonLineBytes(node: node) + [UInt8(ascii: "\n")], to: LineWriter.standardOutput) }
        }
        let live = LiveConfig(config)
        let health = ReaderHealth()
        let alertState = AlertState()
        let board = StatusBoard(pushgateway: config.outputs.pushgateway)
        let reloader = ConfigReloader(load: loadConfig, live: live, engine: engine, logger: logger)
        let discovery = DiscoveryStatus(config.discovery)
        self.discovery = discovery
        self.spool = spool
        self.engine = engine
        self.live = live
        self.board = board
        self.health = health
        self.alertState = alertState
        self.logger = logger
        self.reloader = reloader
        let scrubber: @Sendable () -> SecretScrubber = { live.configuration.scrubber }

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        func add(_ service: any Service) { services.append(.init(service: service)) }
        if let server = config.server {
            // The board only serves the server's pages.
            add(SpoolReader(
                name: .statusBoard, policy: StatusBoardPolicy(), source: .results, spool: spool, live: live, health: health,
                subject: "status board", publish: { board.add($0) }, logger: logger))
            let context = AgentServer.Context(
                live: live, engine: engine, spool: spool, board: board, health: health, alerts: alertState, metrics: metrics,
                discovery: discovery,
                readers: config.spoolReaders + config.receiverReaders, startedAt: .now, reload: { await reloader.reload() })
            let port = port
            add(AgentServer.service(server, context: context, onBound: { port.value.store($0, ordering: .relaxed) }, logger: logger))
        }
        if let alerting = config.alerting {
            for receiver in alerting.receivers {
                let client = OutputHTTPClient(
                    name: "slack", connection: ConnectionConfig(url: receiver.webhook.exposedValue, timeout: receiver.timeout),
                    scrubber: scrubber)
                add(SpoolReader(
                    name: receiver.readerName,
                    policy: SlackPolicy(receiver: receiver, node: node, groupingWindow: alerting.groupingWindow),
                    retry: .alerts, source: .outbox, spool: spool, live: live, health: health, subject: "slack",
                    transport: { await client.send($0) }, logger: logger))
            }
        }
        if let pushgateway = config.outputs.pushgateway {
            let group = PushgatewayGroup(config: pushgateway, agent: config.agent, scrubber: scrubber, logger: logger)
            let readers = config.spoolReaders + config.receiverReaders
            add(SpoolReader(
                name: .pushgateway, policy: PushgatewayPolicy(config: pushgateway, keepRemoved: config.spool.retain),
                retry: .outputs, source: .results, spool: spool, live: live, health: health, subject: "pushgateway", noun: "push",
                transport: { request in
                    let families = request.fold.metricFamilies(
                        configured: request.configured, targetAsInstance: pushgateway.instanceLabel == .target)
                        + SelfMetrics.delivery(spool: try? spool.statistics(readers: readers), readers: health.snapshot)
                        + metrics.scheduling() + discovery.metricFamilies()
                    return await group.replace(with: families)
                },
                onFinish: { if pushgateway.deleteOnShutdown { _ = await group.delete() } }, logger: logger))
        }
        if let loki = config.outputs.loki {
            let client = OutputHTTPClient(name: "loki", connection: loki.connection, scrubber: scrubber)
            add(SpoolReader(
                name: .loki, policy: LokiPolicy(config: loki, job: config.agent.job, node: node), retry: loki.retry,
                source: .results, spool: spool, live: live, health: health, subject: "loki", noun: "push",
                transport: { await client.send($0) }, logger: logger))
        }
        if let alerting = config.alerting {
            add(SpoolReader(
                name: .alertEvaluator, policy: AlertEvaluatorPolicy(alerting: alerting), source: .results, spool: spool,
                live: live, health: health, subject: "alerts", publish: { alertState.update($0) }, logger: logger))
        }
        add(ReloadService(reload: { await reloader.reload() }))
        if loadConfig != nil {
            add(ConfigWatchService(live: live, reload: { await reloader.reload() }, logger: logger))
        }
        if !config.discovery.sources.isEmpty {
            add(DiscoveryService(
                config: config.discovery, agent: config.agent, status: discovery,
                apply: { await reloader.setDiscovered($0, from: $1) }, logger: logger))
        }
        add(ProbeService(engine: engine, live: live, logger: logger))
        let longestTimeout = max(config.endpoints.map(\.timeout).max() ?? .zero, config.discovery.longestTimeout)
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: stopSignals, logger: logger)
        // A backend that hangs at shutdown must not keep the agent from exiting: what it did not
        // take stays in the spool for the next start.
        configuration.maximumGracefulShutdownDuration = longestTimeout + Self.drainAllowance
        self.group = ServiceGroup(configuration: configuration)
    }

    /// How long the outputs may take for their last deliveries at shutdown.
    public static let drainAllowance = Duration.seconds(20)

    /// Runs until a stop signal or `shutdown()`, then closes the spool.
    public func run() async throws {
        let config = live.configuration
        logger.info(
            "latency-agent starting",
            metadata: [
                "version": "\(AgentVersion.current)", "node": "\(config.agent.node)", "spool": "\(config.spool.path)",
                "outputs": "\(config.outputs.readerNames.map(\.storageKey).joined(separator: ","))",
                "server": "\(config.server.map { "\($0.address):\($0.port)" } ?? "off")",
                "open_file_limit": "\(SystemError.openFileLimit)",
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
    public static func openSpool(_ config: Configuration, logger: Logger) throws(AgentError) -> Spool {
        do {
            return try Spool(config: config.spool, readers: config.spoolReaders, receivers: config.receiverReaders, logger: logger)
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
