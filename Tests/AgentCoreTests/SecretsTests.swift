import AgentCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import TestSupport
import Testing

/// DESIGN invariant 6: tokens, passwords and credentials in URLs appear in no log line, result or
/// metric — here with every log level on and a backend that fails, so error paths log too.
@Suite struct SecretsTests {
    @Test func noSecretReachesLogsResultsOrMetrics() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        let secrets = ["bearer-s3cret", "header-s3cret", "url-pa55word", "gateway-t0ken", "w3bhook-T0KEN"]
        let endpoints = [
            EndpointConfig(name: "bearer", url: target.url("/status/500"), interval: .milliseconds(100), timeout: .milliseconds(100),
                           authorization: .bearer(Secret("bearer-s3cret"))),
            EndpointConfig(name: "header", url: target.url("/ok"), headers: [HTTPHeader(name: "X-Api-Key", value: "header-s3cret")],
                           interval: .milliseconds(100), timeout: .milliseconds(100)),
            EndpointConfig(name: "userinfo", url: target.url("/ok").replacingOccurrences(of: "http://", with: "http://user:url-pa55word@"),
                           interval: .milliseconds(100), timeout: .milliseconds(100)),
        ]
        let closedPort = try closedLoopbackPort()
        let config = AgentConfig(
            agent: AgentSettings(node: "n", job: "secrets"),
            spool: SpoolSettings(path: TestEnvironment.temporaryDirectory("secrets")),
            endpoints: endpoints,
            outputs: OutputsConfig(pushgateway: PushgatewayConfig(
                connection: OutputConnection(url: "http://user:gateway-t0ken@127.0.0.1:\(closedPort)", timeout: .milliseconds(200),
                                             authorization: .bearer(Secret("gateway-t0ken"))),
                pushInterval: .milliseconds(100))),
            server: ServerSettings(address: "127.0.0.1", port: 0),
            alerting: AlertingConfig(
                rules: ["bearer": AlertDeliveryTests.downOnly],
                receivers: [SlackReceiver(name: "oncall", webhook: Secret("http://127.0.0.1:\(closedPort)/services/T/B/w3bhook-T0KEN"))],
                groupingWindow: .milliseconds(100)))
        let lines = NIOLockedValueBox<[String]>([])
        var logger = Logger(label: "secrets") { _ in CapturingLogHandler(lines: lines) }
        logger.logLevel = .trace
        let agent = try Agent(config: config, stopSignals: [], logger: logger)
        let pages = NIOLockedValueBox<[String]>([])
        try await AgentServerTests.withAgent(agent) { base in
            try await Task.sleep(for: .seconds(1))
            for (path, accept) in [("/status", nil), ("/status", "text/html"), ("/metrics", nil), ("/health", nil)] {
                let body = try await AgentServerTests.request(base + path, accept: accept).body
                pages.withLockedValue { $0.append(body) }
            }
        }
        let served = pages.withLockedValue { $0 }.joined(separator: "\n")
        #expect(served.contains("userinfo") && served.contains("api_requests_total"))
        let logged = lines.withLockedValue { $0 }.joined(separator: "\n")
        #expect(logged.contains("pushgateway push failed"), "the failing gateway was logged, so error paths ran")
        #expect(logged.contains("slack delivery failed"), "so was the failing webhook")
        let spool = try Spool(settings: config.spool, readers: [], logger: Logger(label: "t"))
        let results = try spool.records(after: 0, limit: 1000).map { $0.result.jsonLine(node: "n") }.joined(separator: "\n")
        await spool.close()
        #expect(results.contains("\"endpoint\":\"userinfo\""))
        var fold = MetricFold(buckets: [1], uptimeWindow: .seconds(60))
        for record in try Spool(settings: config.spool, readers: [], logger: Logger(label: "t")).records(after: 0, limit: 1000) {
            fold.add(record.result)
        }
        let metrics = ExpositionWriter.render(fold.metricFamilies())
        for secret in secrets {
            #expect(!logged.contains(secret), "\(secret) leaked into the logs")
            #expect(!results.contains(secret), "\(secret) leaked into a result")
            #expect(!metrics.contains(secret), "\(secret) leaked into the metrics")
            #expect(!served.contains(secret), "\(secret) leaked into /status or /metrics")
            #expect(!"\(config)".contains(secret), "\(secret) leaked into the config's description")
        }
    }
}
