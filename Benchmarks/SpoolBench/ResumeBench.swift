import AgentCore
import Foundation
import Logging
import TestSupport

/// Time-to-resume per output: every backend sits behind a TCP proxy that is down for OUTAGE
/// seconds (long enough for the backoff to reach its cap), then comes back at one instant T. For
/// each output: how long after T the backend had the agent's next delivery. Then a Retry-After
/// episode: Loki answers 429 with `Retry-After: 2` three times; the gaps between attempts.
enum ResumeBench {
    static func run(pushgateway: String, outage: Duration) async throws {
        let target = try TargetServer()
        let loki = try LokiStandIn()
        let slack = try SlackStandIn()
        let gatewayPort = URLComponents(string: pushgateway)!.port!
        let proxies = (pushgateway: try TCPProxy(upstreamPort: gatewayPort), loki: try TCPProxy(upstreamPort: loki.port),
                       slack: try TCPProxy(upstreamPort: slack.port))
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var rules = AlertRulesConfig()
        rules.errorRateAbove = nil
        rules.uptimeBelow = nil
        rules.quantileAbove = nil
        let endpoints = (0..<5).map { EndpointConfig(name: "ok-\($0)", url: target.url("/ok"), interval: .seconds(1), alertRules: rules) }
            + [EndpointConfig(name: "down", url: target.url("/status/503"), interval: .seconds(1), alertRules: rules)]
        var lokiConfig = LokiConfig(connection: ConnectionConfig(url: "http://127.0.0.1:\(proxies.loki.port)/loki/api/v1/push"), batchWait: .milliseconds(200))
        lokiConfig.gzip = false
        let job = "resume-bench-\(UUID().uuidString.prefix(6))"
        let config = Configuration(
            agent: AgentConfig(node: "resume", job: job),
            spool: SpoolConfig(path: NSTemporaryDirectory() + "latency-agent-resume-\(UUID().uuidString)"),
            endpoints: endpoints,
            outputs: OutputsConfig(
                pushgateway: PushgatewayConfig(connection: ConnectionConfig(url: "http://127.0.0.1:\(proxies.pushgateway.port)"), pushInterval: .seconds(1)),
                loki: lokiConfig),
            alerting: AlertingConfig(
                rules: rules,
                receivers: [SlackReceiverConfig(name: "bench", webhook: Secret(slack.webhookURL.replacingOccurrences(of: ":\(slack.port)/", with: ":\(proxies.slack.port)/")))],
                groupingWindow: .seconds(1)))
        proxies.pushgateway.down()
        proxies.loki.down()
        proxies.slack.down()
        let agent = try Agent(config: config, stopSignals: [], logger: logger)
        let runner = Task { try await agent.run() }
        try await Task.sleep(for: outage)
        let lokiBefore = loki.statuses.count
        let pushBefore = try await pushTime(pushgateway, job: job)
        try proxies.pushgateway.up()
        try proxies.loki.up()
        try proxies.slack.up()
        let back = Date()
        var resumed: [String: Double] = [:]
        let deadline = Date().addingTimeInterval(60)
        while resumed.count < 3, Date() < deadline {
            if resumed["loki"] == nil, loki.statuses.count > lokiBefore { resumed["loki"] = Date().timeIntervalSince(back) }
            if resumed["slack"] == nil, let first = slack.messages.first { resumed["slack"] = first.received.timeIntervalSince(back) }
            if resumed["pushgateway"] == nil, let time = try? await pushTime(pushgateway, job: job), time > pushBefore {
                resumed["pushgateway"] = Date().timeIntervalSince(back)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        for output in ["pushgateway", "loki", "slack"] {
            print(String(format: "resume output=%@ outage_s=%.0f seconds_after_return=%.2f", output, outage.inSeconds, resumed[output] ?? -1))
        }
        // Retry-After: three 429s asking for 2 s each, then Loki takes the batch.
        let statusesBefore = loki.statuses.count
        loki.fail(next: 3, status: 429, retryAfter: 2)
        var attempts: [Date] = []
        let episodeDeadline = Date().addingTimeInterval(30)
        var seen = statusesBefore
        while attempts.count < 4, Date() < episodeDeadline {
            let count = loki.statuses.count
            if count > seen {
                attempts.append(Date())
                seen = count
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        let gaps = zip(attempts, attempts.dropFirst()).map { String(format: "%.2f", $1.timeIntervalSince($0)) }
        print("resume retry_after=2 gaps_s=\(gaps.joined(separator: ","))")
        await agent.shutdown()
        _ = try? await runner.value
        for proxy in [proxies.pushgateway, proxies.loki, proxies.slack] { proxy.shutdown() }
        target.shutdown()
        loki.shutdown()
        slack.shutdown()
    }

    static func pushTime(_ gateway: String, job: String) async throws -> Double {
        let text = try await TestEnvironment.get(gateway + "/api/v1/metrics")
        let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let group = (json?["data"] as? [[String: Any]] ?? []).first { ($0["labels"] as? [String: String])?["job"] == job }
        let samples = (group?["push_time_seconds"] as? [String: Any])?["metrics"] as? [[String: Any]]
        return Double(samples?.first?["value"] as? String ?? "0") ?? 0
    }
}
