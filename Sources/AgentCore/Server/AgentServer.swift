import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The local HTTP server: `/health` (liveness), `/ready`, `/status` (JSON, or an HTML page for
/// browsers), `/metrics` (the probe metrics since start and the agent's own), `POST /-/reload`.
enum AgentServer {
    /// What the handlers read; every part is safe to share.
    struct Context: Sendable {
        let live: LiveConfig
        let engine: ProbeEngine
        let spool: Spool
        let board: StatusBoard
        let outputs: OutputHealth
        let alerts: AlertState
        let metrics: SelfMetrics
        let startedAt: Int64
        let reload: @Sendable () async -> Result<String, ConfigError>
    }

    /// The server as a lifecycle service; a port it cannot listen on stops the agent with a
    /// message saying which and what to change.
    struct Runner: Service, CustomStringConvertible {
        let application: any Service
        let settings: ServerSettings
        var description: String { "AgentServer(\(settings.address):\(settings.port))" }

        func run() async throws {
            do {
                try await application.run()
            } catch let error as IOError {
                throw AgentError(
                    message: "the HTTP server cannot listen on \(settings.address):\(settings.port): \(error); "
                        + "set server.port to a free port, or server.enabled: false")
            }
        }
    }

    static func service(
        _ settings: ServerSettings, context: Context, boundPort: @escaping @Sendable (Int) -> Void, logger: Logger
    ) -> Runner {
        Runner(application: application(settings, context: context, boundPort: boundPort, logger: logger), settings: settings)
    }

    static func application(
        _ settings: ServerSettings, context: Context, boundPort: @escaping @Sendable (Int) -> Void, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("health") { _, _ in health(context) }
        router.get("ready") { _, _ in text(.ok, "ready\n") }
        router.get("status") { request, _ in
            let report = statusReport(context)
            if request.headers[.accept]?.contains("text/html") == true {
                return text(.ok, report.html(), type: "text/html; charset=utf-8")
            }
            return text(.ok, report.json(), type: "application/json")
        }
        router.get("metrics") { _, _ in
            let config = context.live.config
            let body =
                ExpositionWriter.render(context.board.metricFamilies(endpoints: Set(config.endpoints.map(\.name))))
                + context.metrics.render(
                    engine: context.engine.statistics, spool: try? context.spool.statistics(),
                    outputs: context.outputs.snapshot)
            return text(.ok, body, type: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.post("-/reload") { _, _ in
            switch await context.reload() {
            case .success(let summary): return text(.ok, summary + "\n")
            case .failure(let error): return text(.badRequest, "reload rejected, the running configuration is kept: \(error)\n")
            }
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(settings.address, port: settings.port), serverName: "latency-agent"),
            onServerRunning: { channel in boundPort(channel.localAddress?.port ?? settings.port) },
            logger: logger)
    }

    static func health(_ context: Context) -> Response {
        guard let problems = HealthCheck.problems(
            schedulerHeartbeat: context.engine.lastHeartbeat, now: MonotonicClock.now(),
            spoolProblem: context.spool.unwritableReason())
        else { return text(.ok, "ok\n") }
        return text(.serviceUnavailable, problems.joined(separator: "\n") + "\n")
    }

    static func statusReport(_ context: Context) -> StatusReport {
        let config = context.live.config
        let now = WallClock.now()
        return StatusReport(
            agent: config.agent, startedAt: context.startedAt, now: now,
            endpoints: config.endpoints.map { endpoint in
                let state = context.board.endpoint(endpoint.name)
                let windows = state?.windows ?? LatencyWindows()
                return StatusReport.Endpoint(
                    config: endpoint, last: state?.last, hour: windows.summary(lastHour: true, now: now),
                    day: windows.summary(lastHour: false, now: now), series: windows.minuteSeries(now: now))
            },
            spool: try? context.spool.statistics(now: now), spoolPath: config.spool.path,
            outputs: context.outputs.snapshot, engine: context.engine.statistics, firing: context.alerts.snapshot)
    }

    static func text(_ status: HTTPResponse.Status, _ body: String, type: String = "text/plain; charset=utf-8") -> Response {
        Response(
            status: status, headers: [.contentType: type],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
