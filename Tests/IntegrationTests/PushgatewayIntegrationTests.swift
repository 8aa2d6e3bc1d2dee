import AgentCore
import Foundation
import Logging
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// The Pushgateway output against the real Pushgateway and Prometheus that `scripts/test.sh`
/// starts, with real HTTP targets on loopback. Each test pushes to a job of its own.
@Suite struct PushgatewayIntegrationTests {
    /// This job's groups as the gateway's JSON API reports them.
    struct Gateway {
        let url: String

        func groups(job: String) async throws -> [[String: Any]] {
            let text = try await TestEnvironment.get(url + "/api/v1/metrics")
            let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            let data = json?["data"] as? [[String: Any]] ?? []
            return data.filter { ($0["labels"] as? [String: String])?["job"] == job }
        }

        /// `sum(metric)` of one job, optionally of one endpoint and status.
        func sum(_ metric: String, job: String, where labels: [String: String] = [:]) async throws -> Double {
            var total = 0.0
            for group in try await groups(job: job) {
                let samples = (group[metric] as? [String: Any])?["metrics"] as? [[String: Any]] ?? []
                for sample in samples {
                    let sampleLabels = sample["labels"] as? [String: String] ?? [:]
                    guard labels.allSatisfy({ sampleLabels[$0.key] == $0.value }) else { continue }
                    total += Double(sample["value"] as? String ?? "0") ?? 0
                }
            }
            return total
        }

        func delete(job: String, instance: String, nodeLabel: String = "instance") async {
            let client = OutputHTTPClient(name: "test-delete", connection: ConnectionConfig(url: url), scrubber: { SecretScrubber() })
            _ = await client.send(OutputRequest(method: "DELETE", url: GroupingKey(job: job, nodeLabel: nodeLabel).url(base: url, node: instance)))
        }
    }

    static func uniqueJob(_ name: String) -> String { "it-\(name)-\(UUID().uuidString.prefix(8))" }

    func config(job: String, gateway: String, endpoints: [EndpointConfig], pushInterval: Duration = .milliseconds(300))
        -> Configuration
    {
        Configuration(
            agent: AgentConfig(node: "test-node", job: job),
            spool: SpoolConfig(path: TestEnvironment.temporaryDirectory("spool"), maxSize: 64 << 20),
            endpoints: endpoints,
            outputs: OutputsConfig(pushgateway: PushgatewayConfig(connection: ConnectionConfig(url: gateway, timeout: .seconds(2)), pushInterval: pushInterval)))
    }

    /// Runs the agent in-process for `seconds` (calling `during` meanwhile), then stops it gracefully.
    func runAgent(_ config: Configuration, seconds: Double, during: @escaping @Sendable (Agent) async throws -> Void = { _ in })
        async throws
    {
        let agent = try Agent(config: config, stopSignals: [], logger: Logger(label: "test"))
        try await withRunningAgent(agent, deadline: seconds + 30) { agent in
            try await during(agent)
            try await Task.sleep(for: .seconds(seconds))
        }
    }

    @Test func theGatewayCountsEveryProbeOnceAndPrometheusComputesQuantiles() async throws {
        let gateway = Gateway(url: try TestEnvironment.pushgatewayURL())
        let prometheus = try TestEnvironment.prometheusURL()
        let target = try TargetServer()
        defer { target.shutdown() }
        let job = Self.uniqueJob("counts")
        let endpoints = [
            EndpointConfig(name: "fast", url: target.url("/delay/20"), interval: .milliseconds(100), timeout: .seconds(1)),
            EndpointConfig(name: "broken", url: target.url("/status/503"), interval: .milliseconds(200), timeout: .seconds(1)),
        ]
        let configuration = config(job: job, gateway: gateway.url, endpoints: endpoints)
        try await runAgent(configuration, seconds: 3)

        let made = target.requests(to: "/delay/20") + target.requests(to: "/status/503")
        #expect(made > 20)
        #expect(try await gateway.sum("api_requests_total", job: job) == Double(made))
        #expect(try await gateway.sum("api_requests_total", job: job, where: ["endpoint": "fast", "status": "failure"]) == 0)
        #expect(try await gateway.sum("api_requests_total", job: job, where: ["endpoint": "broken", "status": "success"]) == 0)
        #expect(try await gateway.sum("probe_failures_total", job: job, where: ["endpoint": "broken", "reason": "http_status"]) == Double(target.requests(to: "/status/503")))
        #expect(try await gateway.sum("probe_http_status_code", job: job, where: ["endpoint": "broken"]) == 503)
        // The node's scheduling health is pushed too: central Prometheus sees a prober that falls behind.
        let lag = try await gateway.groups(job: job).compactMap { $0["latency_agent_scheduler_start_lag_seconds"] as? [String: Any] }
        let started = (lag.first?["metrics"] as? [[String: Any]])?.first?["count"] as? String
        #expect(Double(started ?? "") ?? 0 >= Double(made), "every probe's start lag was pushed: \(String(describing: started)) of \(made)")

        // What the agent measured: the true p95 of the fast endpoint, and the bucket it falls in.
        let spool = try Spool(config: configuration.spool, readers: [], logger: Logger(label: "t"))
        let totals = try spool.results(after: 0, limit: 100_000).filter { $0.value.endpoint == "fast" && $0.value.succeeded }
            .map { $0.value.timings.total.inSeconds }.sorted()
        await spool.close()
        let truth = totals[Int((0.95 * Double(totals.count)).rounded(.up)) - 1]
        let bounds = PushgatewayConfig.defaultBuckets
        let upper = bounds.first { truth <= $0 } ?? .infinity
        let lower = bounds.last { $0 < upper } ?? 0
        #expect(truth >= 0.02, "a 20 ms target takes at least 20 ms")

        @Sendable func value(_ query: String) async throws -> Double? {
            let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let text = try await TestEnvironment.get("\(prometheus)/api/v1/query?query=\(encoded)")
            let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            let results = (json?["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
            return ((results.first?["value"] as? [Any])?.last as? String).flatMap(Double.init).flatMap { $0.isNaN ? nil : $0 }
        }
        let selector = "{job=\"\(job)\",endpoint=\"fast\"}"
        // Once Prometheus has scraped the final push, its estimate over all probes lies in that bucket.
        _ = try await TestEnvironment.eventually(seconds: 20, "Prometheus to have scraped the final push") {
            try await value("sum(api_latency_seconds_count\(selector))") == Double(totals.count) ? true : nil
        }
        let estimate = try #require(try await value("histogram_quantile(0.95, sum by (le)(api_latency_seconds_bucket\(selector)))"))
        #expect(estimate > lower && estimate <= upper, "Prometheus' p95 \(estimate) lies in the bucket of the measured p95 \(truth): (\(lower), \(upper)]")
        // And the dashboards' query (a rate over a minute) answers too.
        let rated = try #require(try await value("histogram_quantile(0.95, sum by (le, endpoint)(rate(api_latency_seconds_bucket\(selector)[1m])))"))
        #expect(rated > 0.01, "the dashboards' p95 of a 20 ms target: \(rated)")
        await gateway.delete(job: job, instance: "test-node")
    }

    @Test func aGatewayOutageLosesNothingAndCountsNothingTwice() async throws {
        let gateway = Gateway(url: try TestEnvironment.pushgatewayURL())
        let proxy = try TCPProxy(upstreamPort: URLComponents(string: gateway.url)!.port!)
        defer { proxy.shutdown() }
        let target = try TargetServer()
        defer { target.shutdown() }
        let job = Self.uniqueJob("outage")
        let endpoints = [EndpointConfig(name: "api", url: target.url("/ok"), interval: .milliseconds(50), timeout: .seconds(1))]
        try await runAgent(config(job: job, gateway: "http://127.0.0.1:\(proxy.port)", endpoints: endpoints), seconds: 1.5) { agent in
            try await Task.sleep(for: .seconds(1))
            proxy.down()
            try await Task.sleep(for: .seconds(2.5))
            let lag = try agent.spool.statistics(readers: [.pushgateway]).readers.first?.records ?? 0
            #expect(lag > 20, "while the gateway is away the backlog waits in the spool (\(lag) records)")
            try proxy.up()
        }
        #expect(try await gateway.sum("api_requests_total", job: job) == Double(target.requests(to: "/ok")))
        await gateway.delete(job: job, instance: "test-node")
    }

    /// The agent binary killed with SIGKILL at random moments while the gateway flaps, then run
    /// once more and stopped with SIGTERM. Every durable result is counted exactly once; the only
    /// probes missing are those a kill cut off before their result was committed.
    @Test func sigkillAtRandomMomentsNeverCountsAProbeTwice() async throws {
        let binary = try TestEnvironment.agentBinary()
        let gateway = Gateway(url: try TestEnvironment.pushgatewayURL())
        let proxy = try TCPProxy(upstreamPort: URLComponents(string: gateway.url)!.port!)
        defer { proxy.shutdown() }
        let target = try TargetServer()
        defer { target.shutdown() }
        let job = Self.uniqueJob("crash")
        let directory = TestEnvironment.temporaryDirectory("crash")
        let configPath = directory + "/agent.yaml"
        try """
            agent: {node: crash-node, job: \(job), min_interval: 10ms}
            spool: {path: \(directory)/spool}
            server: {port: 0}
            outputs:
              pushgateway: {url: "http://127.0.0.1:\(proxy.port)", push_interval: 200ms, timeout: 1s}
            endpoints:
              - {name: a, url: "\(target.url("/ok"))", interval: 50ms, timeout: 50ms}
              - {name: b, url: "\(target.url("/delay/30"))", interval: 70ms, timeout: 70ms}
            """.write(toFile: configPath, atomically: true, encoding: .utf8)

        let kills = 10
        try await withDeadline(seconds: 120, "crash loop") {
            for _ in 0..<kills {
                let lifetime = Int.random(in: 200...1200)
                if Bool.random() { proxy.down() } else { try proxy.up() }
                _ = try await Subprocess.run(
                    .path(FilePath(binary)), arguments: ["run", "--config", configPath], input: .none, output: .discarded,
                    error: .discarded
                ) { execution in
                    try await Task.sleep(for: .milliseconds(lifetime))
                    try execution.send(signal: .kill)
                }
            }
            try proxy.up()
            let final = try await Subprocess.run(
                .path(FilePath(binary)), arguments: ["run", "--config", configPath], input: .none, output: .discarded,
                error: .string(limit: 1 << 20)
            ) { execution in
                try await Task.sleep(for: .seconds(1.5))
                try execution.send(signal: .terminate)
            }
            #expect(final.terminationStatus.isSuccess, "SIGTERM ends the agent cleanly: \(final.terminationStatus) \(final.standardError)")
        }

        let spool = try Spool(config: SpoolConfig(path: directory + "/spool"), readers: [.pushgateway], logger: Logger(label: "test"))
        let stats = try spool.statistics(readers: [.pushgateway])
        await spool.close()
        let durable = stats.newest?.sequence ?? 0
        let counted = try await gateway.sum("api_requests_total", job: job)
        let received = target.requests(to: "/ok") + target.requests(to: "/delay/30")
        #expect(durable > 100, "the runs probed for real: \(durable) results")
        #expect(stats.dropped.values.allSatisfy { $0 == 0 })
        #expect(stats.readers.first?.records == 0, "the final run pushed everything: \(stats.readers), newest \(durable), counted \(counted)")
        #expect(counted == Double(durable), "every durable result counted exactly once")
        #expect(received >= Int(durable))
        // A kill can cut off each endpoint's probe in flight and the results waiting up to 50 ms
        // for their group commit: at these intervals at most two per endpoint.
        #expect(received - Int(durable) <= kills * 4, "only probes cut off by a kill may be missing: \(received) received, \(durable) recorded")
        await gateway.delete(job: job, instance: "crash-node")
    }

    @Test func hostileNamesStayValidExpositionThatTheGatewayAndPromtoolAccept() async throws {
        let gateway = Gateway(url: try TestEnvironment.pushgatewayURL())
        let promtool = try TestEnvironment.promtool()
        let target = try TargetServer()
        defer { target.shutdown() }
        let job = Self.uniqueJob("hostile")
        let names = ["quote\"d", "back\\slash", "new\nline", "ünïcödé 🚀", "tab\there", "{braces}=,"]
        let endpoints = names.enumerated().map { index, name in
            EndpointConfig(name: name, url: target.url("/ok?i=\(index)&q=\"x\""), interval: .milliseconds(100), timeout: .seconds(1))
        }
        var fold = MetricFold(buckets: PushgatewayConfig.defaultBuckets, uptimeWindow: .seconds(3600))
        for endpoint in endpoints {
            fold.add(ProbeResult(endpoint: endpoint.name, url: endpoint.displayURL, method: "GET", connection: .cold, startedAt: .now, timings: PhaseTimings(total: .microseconds(1234))))
        }
        let body = ExpositionWriter.renderText(fold.metricFamilies())
        let check = try await Subprocess.run(
            .path(FilePath(promtool)), arguments: ["check", "metrics"], input: .string(body),
            output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        #expect(check.terminationStatus.isSuccess, "promtool: \(check.standardOutput) \(check.standardError)")

        try await runAgent(config(job: job, gateway: gateway.url, endpoints: endpoints), seconds: 1)
        for name in names {
            #expect(try await gateway.sum("api_requests_total", job: job, where: ["endpoint": name]) > 0, "\(name) reached the gateway intact")
        }
        await gateway.delete(job: job, instance: "test-node")
    }

    @Test func gzipBodiesAreAcceptedAndDeleteOnShutdownRemovesTheGroup() async throws {
        let gateway = Gateway(url: try TestEnvironment.pushgatewayURL())
        let target = try TargetServer()
        defer { target.shutdown() }
        let job = Self.uniqueJob("gzip")
        var config = config(job: job, gateway: gateway.url, endpoints: [
            EndpointConfig(name: "api", url: target.url("/ok"), interval: .milliseconds(100), timeout: .milliseconds(100)),
        ])
        config.outputs.pushgateway?.gzip = true
        config.outputs.pushgateway?.deleteOnShutdown = true
        try await runAgent(config, seconds: 0.5) { _ in
            let counted = try await TestEnvironment.eventually(seconds: 10, "a gzip push accepted") {
                let sum = try await gateway.sum("api_requests_total", job: job)
                return sum > 0 ? sum : nil
            }
            #expect(counted > 0)
        }
        #expect(try await gateway.groups(job: job).isEmpty, "delete_on_shutdown removed the group")
    }

    @Test func theDeleteCommandRemovesThisNodesGroup() async throws {
        let binary = try TestEnvironment.agentBinary()
        let gateway = Gateway(url: try TestEnvironment.pushgatewayURL())
        let target = try TargetServer()
        defer { target.shutdown() }
        let job = Self.uniqueJob("delete")
        let config = config(job: job, gateway: gateway.url, endpoints: [
            EndpointConfig(name: "api", url: target.url("/ok"), interval: .milliseconds(100), timeout: .milliseconds(100)),
        ])
        try await runAgent(config, seconds: 0.5)
        #expect(try await !gateway.groups(job: job).isEmpty)
        let path = TestEnvironment.temporaryDirectory("delete") + "/agent.yaml"
        try """
            agent: {node: test-node, job: \(job)}
            outputs: {pushgateway: {url: "\(gateway.url)"}}
            endpoints: [{url: "http://127.0.0.1:1/"}]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await withDeadline(seconds: 30) {
            try await Subprocess.run(
                .path(FilePath(binary)), arguments: ["pushgateway", "delete", "--config", path],
                output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
        }
        #expect(result.terminationStatus.isSuccess, "\(result.standardError)")
        #expect(result.standardOutput.contains("deleted job=\"\(job)\" instance=\"test-node\""))
        // The gateway answers a DELETE with 202 and applies it right after.
        _ = try await TestEnvironment.eventually(seconds: 10, "the group gone from the gateway") {
            try await gateway.groups(job: job).isEmpty ? true : nil
        }
    }

    /// The panels of the community "Prometheus Blackbox Exporter" dashboard (grafana.com 7587),
    /// its `$target` variable (`label_values(probe_success, instance)`) included, run against the
    /// real Prometheus over what an agent with `instance_label: target` pushed: every panel shows
    /// every target, each series says its node, and nothing is renamed `exported_instance`.
    @Test func theCommunityBlackboxDashboardReadsTargetsAsInstances() async throws {
        let gateway = Gateway(url: try TestEnvironment.pushgatewayURL())
        let prometheus = try TestEnvironment.prometheusURL()
        let certificates = try TestCertificates(caValidFor: 2 * 86400, leafValidFor: 5 * 86400)
        let secure = try TargetServer(tls: certificates)
        defer { secure.shutdown() }
        let plain = try TargetServer()
        defer { plain.shutdown() }
        let job = Self.uniqueJob("blackbox")
        let https = secure.url("/ok")
        let tcpPort = URLComponents(string: plain.url("/"))!.port!
        var config = config(
            job: job, gateway: gateway.url,
            endpoints: [
                EndpointConfig(
                    name: "web", url: https, interval: .milliseconds(200), timeout: .seconds(1),
                    tls: TLSConfig(caFile: try certificates.writeCAFile())),
                EndpointConfig(name: "port", url: "tcp://127.0.0.1:\(tcpPort)", interval: .milliseconds(200), timeout: .seconds(1)),
            ])
        config.outputs.pushgateway?.instanceLabel = .target
        try await runAgent(config, seconds: 2.5)

        @Sendable func series(_ expr: String) async throws -> [[String: String]] {
            let encoded = expr.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let text = try await TestEnvironment.get("\(prometheus)/api/v1/query?query=\(encoded)")
            let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            #expect(json?["status"] as? String == "success", "\(expr): \(text.prefix(300))")
            let results = (json?["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
            return results.map { $0["metric"] as? [String: String] ?? [:] }
        }
        // The dashboard's variable; the job filter keeps other tests' targets out.
        let selector = "probe_success{job=\"\(job)\"}".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let targets = try await TestEnvironment.eventually(seconds: 20, "both targets as instance values") { () -> [String]? in
            let text = try await TestEnvironment.get("\(prometheus)/api/v1/label/instance/values?match[]=\(selector)")
            let values = (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["data"] as? [String] ?? []
            return values.count == 2 ? values.sorted() : nil
        }
        #expect(targets == ["127.0.0.1:\(tcpPort)", https].sorted())

        // Grafana writes a variable's value into a regex escaped.
        func regex(_ text: String) -> String {
            text.reduce(into: "") { out, character in
                if "\\.+*?()|[]{}^$".contains(character) { out += "\\\\" }
                out.append(character)
            }
        }
        let panels: [(title: String, expr: String, kinds: Set<String>)] = [
            ("Global Probe Duration", "probe_duration_seconds{instance=~\"$target\"}", ["http", "tcp"]),
            ("Status", "probe_success{instance=~\"$target\"}", ["http", "tcp"]),
            ("HTTP Duration", "probe_http_duration_seconds{instance=~\"$target\"}", ["http"]),
            ("Probe Duration", "probe_duration_seconds{instance=~\"$target\"}", ["http", "tcp"]),
            ("HTTP Status Code", "probe_http_status_code{instance=~\"$target\"}", ["http"]),
            ("HTTP Version", "probe_http_version{instance=~\"$target\"}", ["http"]),
            ("SSL", "probe_http_ssl{instance=~\"$target\"}", ["http"]),
            ("SSL Expiry", "probe_ssl_earliest_cert_expiry{instance=~\"$target\"} - time()", ["http"]),
            ("Average Probe Duration", "avg(probe_duration_seconds{instance=~\"$target\"})", ["http", "tcp"]),
            ("Average DNS Lookup", "avg(probe_dns_lookup_time_seconds{instance=~\"$target\"})", ["http", "tcp"]),
        ]
        for target in targets {
            let kind = target.hasPrefix("https://") ? "http" : "tcp"
            for panel in panels where panel.kinds.contains(kind) {
                let expr = panel.expr.replacingOccurrences(of: "$target", with: regex(target))
                let found = try await TestEnvironment.eventually(seconds: 20, "\(panel.title) for \(target)") {
                    let found = try await series(expr)
                    return found.isEmpty ? nil : found
                }
                if !expr.hasPrefix("avg(") && !expr.hasSuffix("time()") {
                    #expect(found.allSatisfy { $0["node"] == "test-node" && $0["instance"] == target && $0["exported_instance"] == nil },
                            "\(panel.title): \(found)")
                }
            }
        }
        let success = try await series("probe_success{job=\"\(job)\", instance=\"\(https)\"}")
        #expect(success.first?["endpoint"] == "web")
        let expiry = try await series("0 < probe_ssl_earliest_cert_expiry{job=\"\(job)\"} - time() < 6 * 86400")
        #expect(expiry.count == 1, "the test chain's dates, within its five days: \(expiry)")
        await gateway.delete(job: job, instance: "test-node", nodeLabel: "node")
    }

    /// Every query of the shipped Grafana dashboard, run against the real Prometheus over what a
    /// real agent pushed: each must be valid PromQL, and the main panels must show this agent.
    @Test func theDashboardsQueriesWorkOnRealData() async throws {
        let gateway = Gateway(url: try TestEnvironment.pushgatewayURL())
        let prometheus = try TestEnvironment.prometheusURL()
        let target = try TargetServer()
        defer { target.shutdown() }
        let job = Self.uniqueJob("dashboard")
        let endpoints = [
            EndpointConfig(name: "ok", url: target.url("/delay/10"), interval: .milliseconds(100), timeout: .seconds(1)),
            EndpointConfig(name: "broken", url: target.url("/status/500"), interval: .milliseconds(100), timeout: .seconds(1)),
        ]
        try await runAgent(config(job: job, gateway: gateway.url, endpoints: endpoints), seconds: 3)

        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("pushgateway/grafana/latency-agent-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        var queries: [(panel: String, expr: String)] = []
        for panel in panels {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                let expr = (target["expr"] as? String ?? "")
                    .replacingOccurrences(of: "$job", with: job).replacingOccurrences(of: "$instance", with: ".*")
                    .replacingOccurrences(of: "$endpoint", with: ".*").replacingOccurrences(of: "$__rate_interval", with: "1m")
                queries.append((panel["title"] as? String ?? "?", expr))
            }
        }
        #expect(queries.count >= 15)
        @Sendable func query(_ expr: String) async throws -> (status: String, results: Int) {
            let encoded = expr.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let text = try await TestEnvironment.get("\(prometheus)/api/v1/query?query=\(encoded)")
            let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            let results = ((json?["data"] as? [String: Any])?["result"] as? [Any])?.count ?? 0
            return (json?["status"] as? String ?? "?", results)
        }
        let mustShowData: Set<String> = [
            "Latency percentiles by endpoint and node", "Error rate", "Uptime", "Seconds since each agent's last push",
            "Phase breakdown (mean of successful probes)", "Endpoints up",
        ]
        for (panel, expr) in queries {
            if mustShowData.contains(panel) {
                let results = try await TestEnvironment.eventually(seconds: 20, "\(panel) to show data") {
                    let answer = try await query(expr)
                    return answer.results > 0 ? answer.results : nil
                }
                #expect(results > 0, "\(panel)")
            } else {
                #expect(try await query(expr).status == "success", "\(panel): \(expr)")
            }
        }
        await gateway.delete(job: job, instance: "test-node")
    }
}
