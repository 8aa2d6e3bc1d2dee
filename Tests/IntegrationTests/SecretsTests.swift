import AgentCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// DESIGN invariant 6: tokens, passwords and credentials in URLs appear in no log line, result,
/// page, Loki line or metric — with every log level on, backends that fail, and backends that
/// echo the request (and so the credentials the agent sent them) back.
@Suite struct SecretsTests {
    static let secrets = [
        "bearer-s3cret", "header-s3cret", "url-pa55word", "gateway-t0ken", "w3bhook-T0KEN", "loki-t0ken", "qu3ry-k3y",
        "gw-user:gw-pa55", Data("gw-user:gw-pa55".utf8).base64EncodedString(), "gw-pa55",
    ]

    /// Everything the agent showed or stored: logs, pages, the spool's results and the metrics.
    static func everything(agent: Agent, config: Configuration, logs: [String], pages: [String]) throws -> String {
        let spool = try Spool(config: config.spool, readers: [], logger: Logger(label: "t"))
        let entries = try spool.results(after: 0, limit: 100_000)
        var fold = MetricFold(buckets: [1], uptimeWindow: .seconds(60))
        for entry in entries { fold.add(entry.value) }
        let stored = entries.map { $0.value.jsonLine(node: "n") }
        let raw = try Data(contentsOf: URL(fileURLWithPath: config.spool.path + "/data.mdb"))
        return (logs + pages + stored + [ExpositionWriter.renderText(fold.metricFamilies())]).joined(separator: "\n")
            + String(decoding: raw, as: UTF8.self)
    }

    @Test func noSecretReachesLogsResultsPagesOrMetricsEvenFromEchoingBackends() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        let echo = try EchoServer(status: 500)
        defer { echo.shutdown() }
        let refusing = try EchoServer(status: 400)
        defer { refusing.shutdown() }
        let endpoints = [
            EndpointConfig(name: "bearer", url: target.url("/status/500"), interval: .milliseconds(100), timeout: .milliseconds(100),
                           authorization: .bearer(Secret("bearer-s3cret"))),
            EndpointConfig(name: "header", url: target.url("/ok"), headers: [HTTPHeader(name: "X-Api-Key", value: "header-s3cret")],
                           interval: .milliseconds(100), timeout: .milliseconds(100)),
            EndpointConfig(name: "userinfo", url: target.url("/ok").replacingOccurrences(of: "http://", with: "http://user:url-pa55word@"),
                           interval: .milliseconds(100), timeout: .milliseconds(100)),
            EndpointConfig(name: "query", url: target.url("/ok?api_key=qu3ry-k3y&page=1"), interval: .milliseconds(100), timeout: .milliseconds(100)),
        ]
        var loki = LokiConfig(connection: ConnectionConfig(url: refusing.url("/loki/api/v1/push"), authorization: .bearer(Secret("loki-t0ken"))),
                              batchWait: .milliseconds(50))
        loki.minBackoff = .milliseconds(50)
        var rules = AlertRulesConfig()
        rules.failures = 1
        let config = Configuration(
            agent: AgentConfig(node: "n", job: "secrets"),
            spool: SpoolConfig(path: TestEnvironment.temporaryDirectory("secrets")),
            endpoints: endpoints.map { endpoint in
                var endpoint = endpoint
                endpoint.alertRules = rules
                return endpoint
            },
            outputs: OutputsConfig(
                pushgateway: PushgatewayConfig(
                    connection: ConnectionConfig(url: echo.url(""), timeout: .milliseconds(500),
                                                 authorization: .basic(username: "gw-user", password: Secret("gw-pa55"))),
                    pushInterval: .milliseconds(100)),
                loki: loki),
            server: ServerConfig(address: "127.0.0.1", port: 0),
            alerting: AlertingConfig(
                rules: rules, receivers: [SlackReceiverConfig(name: "oncall", webhook: Secret(echo.url("/services/T/B/w3bhook-T0KEN")))],
                groupingWindow: .milliseconds(100)))
        let lines = NIOLockedValueBox<[String]>([])
        var logger = Logger(label: "secrets") { _ in CapturingLogHandler(lines: lines) }
        logger.logLevel = .trace
        let agent = try Agent(config: config, stopSignals: [], logger: logger)
        let pages = NIOLockedValueBox<[String]>([])
        try await AgentServerTests.withAgent(agent) { base in
            _ = try await TestEnvironment.eventually(seconds: 20, "every output to have failed against its echoing backend") {
                let health = agent.health.snapshot
                let failed = [ReaderName.pushgateway, .loki, .receiver(.slack, "oncall")].allSatisfy { health[$0]?.lastError != nil }
                return failed ? true : nil
            }
            for (path, accept) in [("/status", nil), ("/status", "text/html"), ("/metrics", nil), ("/health", nil)] {
                let body = try await AgentServerTests.request(base + path, accept: accept).body
                pages.withLockedValue { $0.append(body) }
            }
        }
        let served = pages.withLockedValue { $0 }.joined(separator: "\n")
        #expect(served.contains("userinfo") && served.contains("api_requests_total"))
        #expect(served.contains("api_key=<redacted>&page=1"), "the query credential is shown redacted")
        let logged = lines.withLockedValue { $0 }
        let logText = logged.joined(separator: "\n")
        #expect(logText.contains("pushgateway push failed"), "the echoing gateway was logged, so error paths ran")
        #expect(logText.contains("slack delivery failed"), "so was the echoing webhook")
        #expect(logText.contains("loki refused a push"), "and Loki's echoed refusal")
        #expect(logText.contains("Authorization: Basic <redacted>") || logText.contains("authorization: Basic <redacted>"),
                "what the backend sent back is shown, scrubbed")
        let all = try Self.everything(agent: agent, config: config, logs: logged, pages: [served])
        for secret in Self.secrets {
            #expect(!all.contains(secret), "\(secret) leaked")
            #expect(!"\(config)".contains(secret), "\(secret) leaked into the config's description")
        }
    }

    /// The CLI's own outputs: `run --print-results` and `spool tail` show URLs redacted.
    @Test func printedResultsAndSpoolTailShowQueryCredentialsRedacted() async throws {
        let binary = try TestEnvironment.agentBinary()
        let target = try TargetServer()
        defer { target.shutdown() }
        let directory = TestEnvironment.temporaryDirectory("secrets-cli")
        let path = directory + "/agent.yaml"
        try """
            agent: {node: n, min_interval: 10ms}
            spool: {path: \(directory)/spool}
            server: {enabled: false}
            endpoints:
              - {url: "\(target.url("/ok?token=qu3ry-k3y&page=1"))", interval: 100ms}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try await withDeadline(seconds: 30) {
            try await Subprocess.run(
                .path(FilePath(binary)), arguments: ["run", "--print-results", "--config", path], input: .none,
                output: .string(limit: 1 << 20), error: .string(limit: 1 << 20)
            ) { execution in
                _ = try await TestEnvironment.eventually(seconds: 10, "probes") { target.requests(to: "/ok?token=qu3ry-k3y&page=1") >= 3 ? true : nil }
                try execution.send(signal: .terminate)
            }
        }
        let tail = try await withDeadline(seconds: 30) {
            try await Subprocess.run(
                .path(FilePath(binary)), arguments: ["spool", "tail", "-n", "2", "--config", path], output: .string(limit: 1 << 20),
                error: .string(limit: 1 << 20))
        }
        let printed = run.standardOutput + tail.standardOutput
        #expect(printed.contains("token=<redacted>&page=1"), "\(printed.prefix(500))")
        #expect(!printed.contains("qu3ry-k3y"))
        #expect(tail.standardOutput.split(separator: "\n").count == 2, "spool tail -n 2 prints two lines")
    }
}
