import AgentCore
import Foundation
import Logging
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// Reloads that remove and re-add an endpoint, twenty times, to the real binary: the gateway's
/// counters must stay equal to the probes recorded and never go backwards in Prometheus.
@Suite struct ReloadCountersTests {
    @Test func twentyReloadsThatRemoveAndReAddAnEndpointKeepEveryCounterExact() async throws {
        let binary = try TestEnvironment.agentBinary()
        let gateway = PushgatewayIntegrationTests.Gateway(url: try TestEnvironment.pushgatewayURL())
        let prometheus = try TestEnvironment.prometheusURL()
        let target = try TargetServer()
        let loki = try LokiStandIn()
        defer {
            target.shutdown()
            loki.shutdown()
        }
        let job = PushgatewayIntegrationTests.uniqueJob("reload")
        let directory = TestEnvironment.temporaryDirectory("reload-flaps")
        let path = directory + "/agent.yaml"
        @Sendable func write(withB: Bool) throws {
            try """
                agent: {node: flap-node, job: \(job), min_interval: 10ms, reload_on_change: false}
                spool: {path: \(directory)/spool}
                server: {enabled: false}
                outputs:
                  pushgateway: {url: "\(gateway.url)", push_interval: 200ms}
                  loki: {url: "\(loki.pushURL)", batch_wait: 100ms}
                endpoints:
                  - {name: a, url: "\(target.url("/ok"))", interval: 50ms}
                \(withB ? "  - {name: b, url: \"\(target.url("/status/204"))\", interval: 50ms}" : "")
                """.write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write(withB: true)
        let run = try await withDeadline(seconds: 120, "twenty reloads") {
            try await Subprocess.run(
                .path(FilePath(binary)), arguments: ["run", "--config", path], input: .none, output: .string(limit: 4 << 20),
                error: .string(limit: 1 << 20)
            ) { execution in
                try await Task.sleep(for: .milliseconds(800))
                for round in 1...20 {
                    try write(withB: round % 2 == 0)
                    try execution.send(signal: .terminalClosed)
                    // Reloads closer than a second apart are merged into one; these are not.
                    try await Task.sleep(for: .milliseconds(1100))
                }
                try execution.send(signal: .terminate)
            }
        }
        #expect(run.terminationStatus.isSuccess, "\(run.standardError)")
        #expect(run.standardOutput.components(separatedBy: "\"msg\":\"configuration reloaded\"").count - 1 == 20)

        let spool = try Spool(config: SpoolConfig(path: directory + "/spool"), readers: [], logger: Logger(label: "t"))
        let results = try spool.results(after: 0, limit: 1_000_000)
        await spool.close()
        let recorded = Double(results.count)
        let recordedB = Double(results.filter { $0.value.endpoint == "b" }.count)
        #expect(recordedB > 50, "b was probed in the rounds it was configured")
        #expect(try await gateway.sum("api_requests_total", job: job) == recorded, "the gateway counts every probe recorded")
        #expect(try await gateway.sum("api_requests_total", job: job, where: ["endpoint": "b"]) == recordedB,
                "b's counters continued across its removals and returns")
        #expect(loki.streams.values.reduce(0) { $0 + $1.count } == results.count)

        // Prometheus scraped the gateway every second throughout: no counter ever went backwards.
        let query = "sum(resets(api_requests_total{job=\"\(job)\"}[5m]))"
        let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let resets = try await TestEnvironment.eventually(seconds: 20, "Prometheus to answer") {
            let text = try await TestEnvironment.get("\(prometheus)/api/v1/query?query=\(encoded)")
            let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            let result = ((json?["data"] as? [String: Any])?["result"] as? [[String: Any]])?.first
            return ((result?["value"] as? [Any])?.last as? String).flatMap(Double.init)
        }
        #expect(resets == 0, "Prometheus saw \(resets) counter resets")
        await gateway.delete(job: job, instance: "flap-node")
    }
}
