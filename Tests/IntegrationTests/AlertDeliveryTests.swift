@testable import AgentCore
import Foundation
import Logging
import TestSupport
import Subprocess
import SystemPackage
import Testing

/// Alerts end to end: a real agent probing real targets, the evaluator writing to the outbox, the
/// sender delivering to the Slack stand-in.
@Suite struct AlertDeliveryTests {
    static var downOnly: AlertRulesConfig {
        var rules = AlertRulesConfig()
        rules.errorRateAbove = nil
        rules.uptimeBelow = nil
        rules.quantileAbove = nil
        rules.certificateExpiresWithin = nil
        return rules
    }

    static func config(
        _ endpoints: [EndpointConfig], webhook: String, spool: String = TestEnvironment.temporaryDirectory("alerts"),
        grouping: Duration = .seconds(1)
    ) -> Configuration {
        Configuration(
            agent: AgentConfig(node: "edge-1"), spool: SpoolConfig(path: spool), endpoints: endpoints,
            alerting: AlertingConfig(
                rules: downOnly,
                receivers: [SlackReceiverConfig(name: "oncall", webhook: Secret(webhook), link: "https://grafana.example/d/x?var-endpoint={endpoint}")],
                groupingWindow: grouping))
    }

    static func endpoint(_ name: String, _ url: String) -> EndpointConfig {
        EndpointConfig(name: name, url: url, interval: .milliseconds(100), timeout: .milliseconds(100), alertRules: downOnly)
    }

    /// Runs the agent until `done`, then stops it: its shutdown delivers whatever the outbox still
    /// holds, so afterwards the messages are final and can be counted exactly.
    static func run(_ config: Configuration, until done: @escaping @Sendable () -> Bool, during: @escaping @Sendable () async throws -> Void = {})
        async throws
    {
        let agent = try Agent(config: config, stopSignals: [], logger: Logger(label: "test"))
        try await withRunningAgent(agent) { _ in
            try await during()
            _ = try await TestEnvironment.eventually(seconds: 30, "the expected messages") { done() ? true : nil }
        }
    }

    @Test func aStormOfTenFailingEndpointsIsOneMessage() async throws {
        let slack = try SlackStandIn()
        defer { slack.shutdown() }
        let target = try TargetServer()
        defer { target.shutdown() }
        let endpoints = (1...10).map { Self.endpoint("service-\($0)", target.url("/status/500")) }
        try await Self.run(Self.config(endpoints, webhook: slack.webhookURL)) { !slack.messages.isEmpty }
        let messages = slack.messages
        #expect(messages.count == 1, "one message for the storm, got \(messages.count)")
        let message = try #require(messages.first)
        #expect(message.text.hasPrefix("🔴 10 firing on edge-1"))
        for index in 1...10 { #expect(message.blocks.contains("*service-\(index)*"), "service-\(index) is listed") }
        // Usually `status 500`; a 100 ms timeout on a loaded machine fails as `timeout` instead.
        #expect(message.blocks.contains("last error: http_status: status 500") || message.blocks.contains("last error: timeout"),
            "the last error is shown: \(message.blocks)")
        #expect(message.blocks.contains("var-endpoint=service-1"), "with the link template filled in")
    }

    @Test func aRestartNeitherForgetsNorRefiresAndTheResolutionStillComes() async throws {
        let slack = try SlackStandIn()
        defer { slack.shutdown() }
        let target = try TargetServer()
        defer { target.shutdown() }
        let spool = TestEnvironment.temporaryDirectory("alerts-restart")
        try await Self.run(Self.config([Self.endpoint("api", target.url("/status/503"))], webhook: slack.webhookURL, spool: spool)) {
            slack.messages.count == 1
        }
        // The same endpoint, now healthy, after a restart on the same spool.
        try await Self.run(Self.config([Self.endpoint("api", target.url("/ok"))], webhook: slack.webhookURL, spool: spool)) {
            slack.messages.count == 2
        }
        let texts = slack.messages.map(\.text)
        #expect(texts.count == 2, "\(texts)")
        #expect(texts.first?.contains("1 firing") == true)
        #expect(texts.last?.contains("1 resolved") == true, "the resolution came after the restart, and no second firing")
        #expect(slack.messages.last?.blocks.contains("after") == true, "it says how long it lasted")
    }

    @Test func aSlackOutageDeliversEveryEventAfterwardsInOrderOnce() async throws {
        let slack = try SlackStandIn()
        defer { slack.shutdown() }
        let proxy = try TCPProxy(upstreamPort: slack.port)
        defer { proxy.shutdown() }
        let target = try TargetServer()
        defer { target.shutdown() }
        proxy.down()
        let webhook = slack.webhookURL.replacingOccurrences(of: ":\(slack.port)/", with: ":\(proxy.port)/")
        let directory = TestEnvironment.temporaryDirectory("alerts-outage")
        // Fires with the proxy down; resolves later in the same run; Slack returns afterwards.
        try await Self.run(Self.config([Self.endpoint("api", target.url("/status/503"))], webhook: webhook, spool: directory, grouping: .milliseconds(100))) {
            true
        } during: {
            try await Task.sleep(for: .seconds(1.5))
        }
        try await Self.run(Self.config([Self.endpoint("api", target.url("/ok"))], webhook: webhook, spool: directory, grouping: .milliseconds(100))) {
            slack.messages.count == 2
        } during: {
            try await Task.sleep(for: .seconds(1))
            try proxy.up()
        }
        #expect(slack.messages.map { $0.text.contains("firing") ? "firing" : "resolved" } == ["firing", "resolved"])
    }

    @Test func throttlingAndServerErrorsAreRetriedAndPermanentRefusalsAreNot() async throws {
        let slack = try SlackStandIn()
        defer { slack.shutdown() }
        let target = try TargetServer()
        defer { target.shutdown() }
        slack.fail(next: 1, status: 429, body: "rate_limited")
        slack.fail(next: 1, status: 500, body: "rollup_error")
        let config = Self.config([Self.endpoint("api", target.url("/status/503"))], webhook: slack.webhookURL)
        try await Self.run(config) { slack.messages.count == 1 }
        #expect(slack.statuses.prefix(3) == [429, 500, 200])

        let refused = try SlackStandIn()
        defer { refused.shutdown() }
        refused.fail(next: 1, status: 404, body: "no_service")
        let agent = try Agent(
            config: Self.config([Self.endpoint("api", target.url("/status/503"))], webhook: refused.webhookURL), stopSignals: [],
            logger: Logger(label: "test"))
        try await withRunningAgent(agent, deadline: 30) { agent in
            _ = try await TestEnvironment.eventually(seconds: 15, "the refusal, committed past") {
                let lag = try agent.spool.statistics(readers: [.receiver(.slack, "oncall")]).readers.first?.cursor ?? 0
                return refused.statuses.contains(404) && lag > 0 && lag >= agent.spool.lastOutboxSequence ? true : nil
            }
        }
        #expect(refused.statuses == [404], "a refused message is not resent")
        #expect(agent.health.snapshot[.receiver(.slack, "oncall")]?.rejected == ["HTTP 404: no_service": 1], "and it is counted")
    }

    /// A flapping endpoint with one-probe rules makes a transition at nearly every probe: the
    /// sender must pace itself so the strict stand-in (one message a second) never has to refuse.
    @Test func pacedMessagesNeverArriveLessThanASecondApart() async throws {
        let slack = try SlackStandIn()
        defer { slack.shutdown() }
        let target = try TargetServer()
        defer { target.shutdown() }
        var rules = Self.downOnly
        rules.failures = 1
        rules.recoveries = 1
        var endpoint = Self.endpoint("flappy", target.url("/flap"))
        endpoint.alertRules = rules
        var config = Self.config([endpoint], webhook: slack.webhookURL, grouping: .milliseconds(100))
        config.alerting?.rules = rules
        try await Self.run(config) { slack.messages.count >= 5 }
        let arrivals = slack.messages.map(\.received)
        #expect(slack.statuses.allSatisfy { $0 == 200 }, "no message was early enough to be refused: \(slack.statuses)")
        for (earlier, later) in zip(arrivals, arrivals.dropFirst()) {
            #expect(later.timeIntervalSince(earlier) >= 1.0, "arrivals \(later.timeIntervalSince(earlier)) s apart")
        }
    }

    @Test func aSigkilledAgentNeitherForgetsNorRefiresItsAlert() async throws {
        let binary = try TestEnvironment.agentBinary()
        let slack = try SlackStandIn()
        defer { slack.shutdown() }
        let target = try TargetServer()
        defer { target.shutdown() }
        let directory = TestEnvironment.temporaryDirectory("alerts-kill")
        let path = directory + "/agent.yaml"
        @Sendable func write(_ probePath: String) throws {
            try """
                agent: {node: edge-1, min_interval: 10ms}
                spool: {path: \(directory)/spool}
                server: {port: 0}
                alerting:
                  rules: {error_rate_above: "off", uptime_below: "off", quantile_above: "off"}
                  grouping_window: 200ms
                  slack: [{name: oncall, webhook_url: "\(slack.webhookURL)"}]
                endpoints:
                  - {name: api, url: "\(target.url(probePath))", interval: 100ms, timeout: 100ms}
                """.write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write("/status/503")
        try await withDeadline(seconds: 90) {
            // Killed once the firing message is out, and killed again while still failing.
            for _ in 0..<2 {
                _ = try await Subprocess.run(
                    .path(FilePath(binary)), arguments: ["run", "--config", path], input: .none, output: .discarded, error: .discarded
                ) { execution in
                    _ = try await TestEnvironment.eventually(seconds: 20, "the firing message") { slack.messages.isEmpty ? nil : true }
                    try await Task.sleep(for: .milliseconds(800))
                    try execution.send(signal: .kill)
                }
            }
            try write("/ok")
            _ = try await Subprocess.run(
                .path(FilePath(binary)), arguments: ["run", "--config", path], input: .none, output: .discarded, error: .discarded
            ) { execution in
                _ = try await TestEnvironment.eventually(seconds: 20, "the resolved message") { slack.messages.count >= 2 ? true : nil }
                try await Task.sleep(for: .milliseconds(1500))
                try execution.send(signal: .terminate)
            }
        }
        let texts = slack.messages.map(\.text)
        #expect(texts.count == 2, "one firing, one resolved, nothing twice: \(texts)")
        #expect(texts.first?.hasPrefix("🔴 1 firing") == true && texts.last?.hasPrefix("✅ 1 resolved") == true)
    }
}
