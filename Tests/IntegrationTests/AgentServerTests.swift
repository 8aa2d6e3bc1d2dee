@testable import AgentCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// The local HTTP server of a real agent: what each endpoint answers, health turning red, the
/// page a browser gets, reloads, and a graceful stop under load.
@Suite struct AgentServerTests {
    static func config(
        target: TargetServer, endpoints: Int = 2, interval: Duration = .milliseconds(100),
        spool: String = TestEnvironment.temporaryDirectory("server")
    ) -> Configuration {
        Configuration(
            agent: AgentConfig(node: "node <1>", job: "latency-agent"),
            spool: SpoolConfig(path: spool),
            endpoints: (0..<endpoints).map { index in
                EndpointConfig(
                    name: index == 0 ? "api \"main\"" : "ep\(index)", url: target.url(index % 2 == 0 ? "/delay/5" : "/status/503"),
                    interval: interval, timeout: interval)
            },
            server: ServerConfig(address: "127.0.0.1", port: 0, enableReload: true))
    }

    /// Starts `agent`, waits for its server, runs `body` with the base URL, then stops it.
    static func withAgent(
        _ agent: Agent, seconds: Double = 60, _ body: @escaping @Sendable (String) async throws -> Void
    ) async throws {
        try await withRunningAgent(agent, deadline: seconds) { agent in
            let port = try await TestEnvironment.eventually(seconds: 10, "server listening") { agent.serverPort }
            try await body("http://127.0.0.1:\(port)")
        }
    }

    static func request(_ url: String, method: String = "GET", accept: String? = nil) async throws -> OutputResponse {
        let client = OutputHTTPClient(
            name: "server-test", connection: ConnectionConfig(url: url), responseBodyLimit: 16 << 20, scrubber: { SecretScrubber() })
        return try await client.send(OutputRequest(
            method: method, url: url, headers: accept.map { [HTTPHeader(name: "Accept", value: $0)] } ?? [])).get()
    }

    @Test func everyEndpointAnswersWhatItShould() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        // 250 ms timeouts for a 5 ms target: a loaded test machine must not turn one into a failure.
        let agent = try Agent(config: Self.config(target: target, interval: .milliseconds(250)), stopSignals: [], logger: Logger(label: "test"))
        try await Self.withAgent(agent) { base in
            _ = try await TestEnvironment.eventually(seconds: 20, "eight probes of the first endpoint") {
                target.requests(to: "/delay/5") >= 9 ? true : nil
            }
            let health = try await Self.request(base + "/health")
            #expect(health.status == 200 && health.body == "ok\n")
            #expect(try await Self.request(base + "/ready").status == 200)
            #expect(try await Self.request(base + "/nope").status == 404)

            let status = try await Self.request(base + "/status")
            #expect(status.status == 200)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(status.body.utf8)) as? [String: Any])
            #expect(json["node"] as? String == "node <1>")
            let endpoints = try #require(json["endpoints"] as? [[String: Any]])
            #expect(endpoints.map { $0["name"] as? String } == ["api \"main\"", "ep1"])
            let hour = try #require(endpoints[0]["last_hour"] as? [String: Any])
            #expect((hour["probes"] as? Int ?? 0) >= 8)
            #expect(hour["uptime_percent"] as? Double == 100)
            let p50 = try #require(hour["p50_seconds"] as? Double)
            // The page's p50 is a bucket bound: at least the 5 ms the target holds, and no higher than
            // the bucket of the slowest successful probe recorded (the spool holds at least what
            // the page was built from). A loaded machine moves the figure, never past these.
            let slowest = try agent.spool.results(after: 0, limit: 100_000)
                .filter { $0.value.endpoint == "api \"main\"" && $0.value.succeeded }.map(\.value.timings.total).max()
            let ceiling = LatencyWindows.bounds.first { Duration.microseconds($0) >= (slowest ?? .zero) }.map { Double($0) / 1e6 } ?? .infinity
            #expect(p50 >= 0.005 && p50 <= ceiling, "p50 \(p50) s, slowest probe \(String(describing: slowest))")
            #expect((endpoints[1]["last_hour"] as? [String: Any])?["uptime_percent"] as? Double == 0)
            let last = try #require(endpoints[1]["last"] as? [String: Any])
            #expect(last["status"] as? Int == 503 && last["reason"] as? String == "http_status")
            #expect((json["scheduler"] as? [String: Any])?["probes"] as? Int ?? 0 >= 16)
            #expect((json["spool"] as? [String: Any])?["records"] as? Int ?? 0 >= 16)

            let metrics = try await Self.request(base + "/metrics")
            #expect(metrics.status == 200)
            for name in ["api_requests_total{endpoint=\"ep1\",status=\"failure\"}", "api_latency_seconds_bucket", "probe_success",
                         "latency_agent_scheduler_start_lag_seconds_bucket", "latency_agent_build_info", "latency_agent_spool_records",
                         "latency_agent_probes_in_flight", "latency_agent_spool_dropped_total"] {
                #expect(metrics.body.contains(name), "/metrics has \(name)")
            }
            let check = try await Subprocess.run(
                .path(FilePath(try TestEnvironment.promtool())), arguments: ["check", "metrics"], input: .string(metrics.body),
                output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
            #expect(check.terminationStatus.isSuccess, "promtool: \(check.standardOutput) \(check.standardError)")
        }
    }

    @Test func browsersGetAWellFormedPageWithAChartPerEndpoint() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        let agent = try Agent(config: Self.config(target: target), stopSignals: [], logger: Logger(label: "test"))
        try await Self.withAgent(agent) { base in
            try await Task.sleep(for: .seconds(1))
            let page = try await Self.request(base + "/status", accept: "text/html,application/xhtml+xml")
            #expect(page.status == 200)
            #expect(page.body.hasPrefix("<!doctype html>"))
            #expect(page.body.contains("api &quot;main&quot;"), "names are escaped")
            #expect(page.body.contains("node &lt;1&gt;"))
            #expect(!page.body.contains("node <1>"))
            #expect(page.body.components(separatedBy: "<svg").count - 1 == 2, "a chart per endpoint, the failing one's too")
            #expect(page.body.contains("<rect class=\"failed\""), "the failing endpoint's minutes are marked failed")
            #expect(page.body.contains(" failed</p>"), "the caption counts the failures")
            #expect(page.body.contains("<rect x="), "bars for the minutes with successes")
            #expect(page.body.contains("<span class=\"ok\" title=\"") && page.body.contains("· failed: http_status ·"), "the strip of latest results")
            #expect(page.body.contains("<span>−60 min</span>"), "a time axis")
            #expect(HTMLCheck.unbalancedTags(page.body).isEmpty, "\(HTMLCheck.unbalancedTags(page.body))")
        }
    }

    @Test func healthTurns503WhenTheSchedulerStalls() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        let agent = try Agent(config: Self.config(target: target), stopSignals: [], logger: Logger(label: "test"))
        try await Self.withAgent(agent) { base in
            #expect(try await Self.request(base + "/health").status == 200)
            // The engine's thread ends: the scheduler no longer turns.
            await agent.engine.shutdown(grace: .seconds(1))
            let unhealthy = try await TestEnvironment.eventually(seconds: 15, "/health to turn 503") {
                let response = try await Self.request(base + "/health")
                return response.status == 503 ? response : nil
            }
            #expect(unhealthy.body.contains("the probe scheduler has not run for"))
        }
    }

    @Test func reloadAppliesAValidConfigAndKeepsTheOldOneOnAnError() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        let directory = TestEnvironment.temporaryDirectory("reload")
        let path = directory + "/agent.yaml"
        @Sendable func write(_ paths: [String]) throws {
            try ("agent: {min_interval: 10ms, reload_on_change: false}\nserver: {address: 127.0.0.1, port: 0, enable_reload: true}\nspool: {path: \(directory)/spool}\nendpoints:\n"
                + paths.map { "  - {name: \"\($0)\", url: \"\(target.url($0))\", interval: 100ms, timeout: 100ms}\n" }.joined())
                .write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write(["/ok", "/status/204"])
        let loader = ConfigLoader(environment: [:], hostname: "h")
        let config = try loader.load(path: path)
        let agent = try Agent(config: config, loadConfig: { () throws(ConfigError) in try loader.load(path: path) }, stopSignals: [], logger: Logger(label: "test"))
        try await Self.withAgent(agent) { base in
            try await Task.sleep(for: .milliseconds(600))
            try "endpoints: [{url: \"http://a/\", timeout: 5m}]".write(toFile: path, atomically: true, encoding: .utf8)
            let rejected = try await Self.request(base + "/-/reload", method: "POST")
            #expect(rejected.status == 400)
            #expect(rejected.body.contains("agent.yaml:1:") && rejected.body.contains("longer than its interval"))
            #expect(agent.live.configuration.endpoints.map(\.name) == ["/ok", "/status/204"], "the running configuration is kept")

            try write(["/ok", "/delay/1"])
            let accepted = try await Self.request(base + "/-/reload", method: "POST")
            #expect(accepted.status == 200, "\(accepted.body)")
            #expect(accepted.body.contains("2 endpoints (1 added, 1 removed, 0 changed)"))
            #expect(!accepted.body.contains("restart"), "an endpoint change needs no restart")
            let removedAtReload = target.requests(to: "/status/204")
            _ = try await TestEnvironment.eventually(seconds: 10, "the added endpoint probed five times") {
                target.requests(to: "/delay/1") >= 5 ? true : nil
            }
            #expect(target.requests(to: "/status/204") <= removedAtReload + 1, "the removed endpoint is no longer probed (one may have been in flight)")
            #expect(target.requests(to: "/ok") > 10, "the unchanged one kept going")
            let status = try await Self.request(base + "/status")
            let json = try JSONSerialization.jsonObject(with: Data(status.body.utf8)) as? [String: Any]
            let names = (json?["endpoints"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names == ["/ok", "/delay/1"], "the status page follows the reload")
        }
    }

    @Test func sighupReloadsTheRealBinary() async throws {
        let binary = try TestEnvironment.agentBinary()
        let target = try TargetServer()
        defer { target.shutdown() }
        let directory = TestEnvironment.temporaryDirectory("sighup")
        let path = directory + "/agent.yaml"
        @Sendable func write(_ probePath: String) throws {
            try "agent: {min_interval: 10ms, reload_on_change: false}\nserver: {port: 0}\nspool: {path: \(directory)/spool}\nendpoints:\n  - {name: x, url: \"\(target.url(probePath))\", interval: 50ms, timeout: 50ms}\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write("/ok")
        let result = try await withDeadline(seconds: 60) {
            try await Subprocess.run(
                .path(FilePath(binary)), arguments: ["run", "--config", path], input: .none, output: .string(limit: 1 << 20),
                error: .discarded
            ) { execution in
                _ = try await TestEnvironment.eventually(seconds: 20, "the first URL probed five times") {
                    target.requests(to: "/ok") >= 5 ? true : nil
                }
                try write("/status/204")
                try execution.send(signal: .terminalClosed)
                _ = try await TestEnvironment.eventually(seconds: 20, "the new URL probed five times after SIGHUP") {
                    target.requests(to: "/status/204") >= 5 ? true : nil
                }
                try execution.send(signal: .terminate)
            }
        }
        #expect(result.terminationStatus.isSuccess)
        #expect(target.requests(to: "/ok") >= 5)
        #expect(target.requests(to: "/status/204") >= 5, "after SIGHUP the new URL is probed")
        #expect(result.standardOutput.contains("configuration reloaded"), "the reload is logged, as JSON on stdout")
    }

    @Test func aGracefulStopUnderLoadLosesNothing() async throws {
        let target = try TargetServer()
        defer { target.shutdown() }
        let loki = try LokiStandIn()
        defer { loki.shutdown() }
        var config = Self.config(target: target, endpoints: 200)
        config.server = nil
        config.outputs.loki = LokiConfig(connection: ConnectionConfig(url: loki.pushURL), batchWait: .milliseconds(100))
        let agent = try Agent(config: config, stopSignals: [], logger: Logger(label: "test"))
        // Stopped while 200 endpoints are busy: once the targets have seen 300 probes (1.5 s on
        // a quiet machine; longer on a loaded one, never a fixed sleep that may catch too few).
        try await withRunningAgent(agent) { _ in
            _ = try await TestEnvironment.eventually(seconds: 30, "real load") {
                target.requests(to: "/delay/5") + target.requests(to: "/status/503") >= 300 ? true : nil
            }
        }
        let made = target.requests(to: "/delay/5") + target.requests(to: "/status/503")
        let recorded = Int(agent.spool.lastSequence)
        #expect(made >= 300, "stopped under load")
        #expect(recorded >= made, "every probe the targets saw was recorded (under load some also failed before reaching them)")
        #expect(loki.streams.values.reduce(0) { $0 + $1.count } == recorded, "every recorded probe reached Loki before exit")
    }
}

/// Checks that every non-void HTML element is closed in order.
enum HTMLCheck {
    static let void: Set<String> = ["meta", "br", "img", "input", "link", "hr", "!doctype"]

    static func unbalancedTags(_ html: String) -> [String] {
        var stack: [String] = []
        var problems: [String] = []
        let regex = try! NSRegularExpression(pattern: "<(/?)([a-zA-Z!][a-zA-Z0-9]*)[^>]*?(/?)>")
        for match in regex.matches(in: html, range: NSRange(html.startIndex..., in: html)) {
            let closing = !(Range(match.range(at: 1), in: html).map { html[$0].isEmpty } ?? true)
            let selfClosing = !(Range(match.range(at: 3), in: html).map { html[$0].isEmpty } ?? true)
            let name = Range(match.range(at: 2), in: html).map { html[$0].lowercased() } ?? ""
            if void.contains(name) || selfClosing { continue }
            if closing {
                if stack.last == name { stack.removeLast() } else { problems.append("</\(name)> closes <\(stack.last ?? "nothing")>") }
            } else {
                stack.append(name)
            }
        }
        return problems + stack.map { "<\($0)> never closed" }
    }
}
