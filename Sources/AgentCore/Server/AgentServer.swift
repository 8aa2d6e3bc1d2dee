import Logging
import NIOHTTP1

/// The agent's pages on the local HTTP server: `/health` (liveness), `/ready`, `/status` (JSON,
/// or an HTML page for browsers), `/metrics` (the probe metrics since start and the agent's own)
/// and, when `server.enable_reload` allows it, `POST /-/reload`.
enum AgentServer {
    /// What the handlers read; every part is safe to share.
    struct Context: Sendable {
        let live: LiveConfig
        let engine: ProbeEngine
        let spool: Spool
        let board: StatusBoard
        let health: ReaderHealth
        let alerts: AlertState
        let metrics: SelfMetrics
        let discovery: DiscoveryStatus
        let readers: [ReaderName]
        let startedAt: Timestamp
        let reload: @Sendable () async -> Result<String, ConfigError>
    }

    static func service(_ config: ServerConfig, context: Context, onBound: @escaping @Sendable (Int) -> Void, logger: Logger) -> HTTPServer {
        HTTPServer(config: config, handler: { request in await respond(to: request, config: config, context: context) }, onBound: onBound, logger: logger)
    }

    static func respond(to request: HTTPServer.Request, config: ServerConfig, context: Context) async -> HTTPServer.Response {
        switch (request.method, request.path) {
        case (.GET, "/health"), (.HEAD, "/health"):
            return health(context)
        case (.GET, "/ready"):
            return HTTPServer.Response(status: .ok, body: "ready\n")
        case (.GET, "/status"):
            let report = statusReport(context)
            if request.accept?.contains("text/html") == true {
                return HTTPServer.Response(status: .ok, contentType: "text/html; charset=utf-8", body: report.html())
            }
            return HTTPServer.Response(status: .ok, contentType: "application/json", body: report.json())
        case (.GET, "/metrics"):
            return HTTPServer.Response(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", bytes: metrics(context))
        case (.POST, "/-/reload"):
            guard config.enableReload else {
                return HTTPServer.Response(
                    status: .forbidden,
                    body: "reloading over HTTP is off; set server.enable_reload: true, or send the agent SIGHUP\n")
            }
            switch await context.reload() {
            case .success(let summary): return HTTPServer.Response(status: .ok, body: summary + "\n")
            case .failure(let error):
                return HTTPServer.Response(status: .badRequest, body: "reload rejected, the running configuration is kept: \(error)\n")
            }
        default:
            return HTTPServer.Response(status: .notFound, body: "not found; try /status, /metrics, /health or /ready\n")
        }
    }

    static func health(_ context: Context) -> HTTPServer.Response {
        guard let problems = HealthCheck.problems(
            schedulerHeartbeat: context.engine.lastHeartbeat, now: .now, spoolProblem: context.spool.unwritableReason())
        else { return HTTPServer.Response(status: .ok, body: "ok\n") }
        return HTTPServer.Response(status: .serviceUnavailable, body: problems.joined(separator: "\n") + "\n")
    }

    static func metrics(_ context: Context) -> [UInt8] {
        let configuration = context.live.configuration
        let families = context.board.metricFamilies(
            configured: configuration.labelsByEndpoint, keepRemoved: configuration.spool.retain, now: .now)
        return ExpositionWriter.render(
            families + context.metrics.families(
                engine: context.engine.statistics, spool: try? context.spool.statistics(readers: context.readers),
                readers: context.health.snapshot) + context.discovery.metricFamilies())
    }

    static func statusReport(_ context: Context) -> StatusReport {
        let config = context.live.configuration
        let now = Timestamp.now
        return StatusReport(
            agent: config.agent, startedAt: context.startedAt, now: now,
            endpoints: config.endpoints.map { endpoint in
                let state = context.board.endpoint(endpoint.name)
                let windows = state?.windows ?? LatencyWindows()
                return StatusReport.Endpoint(
                    config: endpoint, last: state?.last, hour: windows.summary(lastHour: true, now: now),
                    day: windows.summary(lastHour: false, now: now), series: windows.minuteSeries(now: now),
                    recent: state?.recent ?? [])
            },
            spool: try? context.spool.statistics(readers: context.readers, now: now), spoolPath: config.spool.path,
            outputs: context.health.snapshot, engine: context.engine.statistics, firing: context.alerts.snapshot,
            discovery: context.discovery.snapshot, maintenance: config.alerting?.inMaintenance(at: now) ?? false)
    }
}
