@testable import AgentCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// The stand-in must refuse what Loki refuses, or the output tests prove nothing.
@Suite struct LokiStandInTests {
    func push(_ body: String, to loki: LokiStandIn, headers: [HTTPHeader] = [HTTPHeader(name: "Content-Type", value: "application/json")])
        async throws -> OutputResponse
    {
        let client = OutputHTTPClient(name: "loki-test", connection: ConnectionConfig(url: loki.pushURL), scrubber: { SecretScrubber() })
        return try await client.send(OutputRequest(method: "POST", url: loki.pushURL, headers: headers, body: Array(body.utf8))).get()
    }

    @Test func itEnforcesLokisRules() async throws {
        let loki = try LokiStandIn(options: .init(multiTenant: true))
        defer { loki.shutdown() }
        let tenant = [HTTPHeader(name: "Content-Type", value: "application/json"), HTTPHeader(name: "X-Scope-OrgID", value: "t")]
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        let good = #"{"streams":[{"stream":{"job":"a"},"values":[["\#(now)","x"]]}]}"#
        #expect(try await push(good, to: loki).status == 401, "multi-tenant without X-Scope-OrgID")
        #expect(try await push(good, to: loki, headers: tenant).status == 204)
        #expect(try await push(good, to: loki, headers: tenant).status == 204)
        #expect(loki.duplicatesDropped == 1, "the same timestamp and line again is dropped silently")
        #expect(try await push(#"{"streams":[{"stream":{"job":"a"},"values":[[\#(now),"x"]]}]}"#, to: loki, headers: tenant).status == 400, "numeric timestamp")
        #expect(try await push(#"{"streams":[]}"#, to: loki, headers: tenant).status == 422)
        let old = now - 8 * 86_400 * 1_000_000_000
        let mixed = #"{"streams":[{"stream":{"job":"a"},"values":[["\#(now + 1)","y"]]},{"stream":{"__bad":"x"},"values":[["\#(now)","z"]]},{"stream":{"job":"b"},"values":[["\#(old)","w"]]}]}"#
        let partial = try await push(mixed, to: loki, headers: tenant)
        #expect(partial.status == 400)
        #expect(loki.streams["job=a"]?.map(\.line) == ["x", "y"], "a 400 can be a partial success")
        #expect(loki.streams["job=b"]?.isEmpty ?? true)
        let behind = #"{"streams":[{"stream":{"job":"a"},"values":[["\#(now - 2 * 3_600 * 1_000_000_000)","late"]]}]}"#
        #expect(try await push(behind, to: loki, headers: tenant).status == 400, "over an hour behind the stream's newest entry")
        #expect(try await push(good, to: loki, headers: [HTTPHeader(name: "X-Scope-OrgID", value: "t")]).status == 400, "JSON needs its Content-Type")
    }
}

/// The Loki output end to end: a real agent, real HTTP targets, the Loki stand-in.
@Suite struct LokiOutputTests {
    func config(loki url: String, target: TargetServer, tenant: String? = nil, paths: [String] = ["/ok", "/status/500"]) -> Configuration {
        var loki = LokiConfig(
            connection: ConnectionConfig(url: url, timeout: .seconds(2)), tenant: tenant, labels: [.init(name: "cluster", value: "test")],
            batchWait: .milliseconds(200))
        loki.batchSize = 16 * 1024
        loki.minBackoff = .milliseconds(100)
        loki.maxBackoff = .seconds(1)
        return Configuration(
            agent: AgentConfig(node: "node-1", job: "latency-agent"),
            spool: SpoolConfig(path: TestEnvironment.temporaryDirectory("loki")),
            endpoints: paths.enumerated().map { index, path in
                EndpointConfig(name: "ep\(index)", url: target.url(path), interval: .milliseconds(50), timeout: .milliseconds(50))
            },
            outputs: OutputsConfig(loki: loki))
    }

    @discardableResult
    func run(
        _ config: Configuration, seconds: Double, logger: Logger = Logger(label: "test"),
        during: @escaping @Sendable (Agent) async throws -> Void = { _ in }
    ) async throws -> Agent {
        let agent = try Agent(config: config, stopSignals: [], logger: logger)
        try await withRunningAgent(agent, deadline: seconds + 30) { agent in
            try await during(agent)
            try await Task.sleep(for: .seconds(seconds))
        }
        return agent
    }

    /// Every stream's entries in order, none stored twice (a batch resent after a crash is
    /// de-duplicated by Loki, entry by entry).
    func check(_ loki: LokiStandIn, holds expected: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let streams = loki.streams
        #expect(streams.values.reduce(0) { $0 + $1.count } == expected, sourceLocation: sourceLocation)
        for (key, entries) in streams {
            #expect(entries.map(\.timestamp) == entries.map(\.timestamp).sorted(), "\(key) in order", sourceLocation: sourceLocation)
            #expect(Set(entries.map(\.line)).count == entries.count, "\(key) has no line twice", sourceLocation: sourceLocation)
        }
    }

    @Test func everyProbeBecomesExactlyOneLineInItsStream() async throws {
        let loki = try LokiStandIn(options: .init(multiTenant: true))
        defer { loki.shutdown() }
        let target = try TargetServer()
        defer { target.shutdown() }
        try await run(config(loki: loki.pushURL, target: target, tenant: "team-a"), seconds: 1.5)
        let made = target.requests(to: "/ok") + target.requests(to: "/status/500")
        #expect(made > 20)
        check(loki, holds: made)
        #expect(loki.tenants == ["team-a"])
        #expect(Set(loki.streams.keys) == [
            "cluster=test,endpoint=ep0,instance=node-1,job=latency-agent", "cluster=test,endpoint=ep1,instance=node-1,job=latency-agent",
        ])
        // A probe that got an answer (on a loaded machine an early one may time out, and a line
        // without a response has no http_version).
        let lines = loki.streams.values.flatMap { $0 }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.line.utf8)) as? [String: Any] }
        let line = try #require(lines.first { ($0["status"] as? Int ?? 0) != 0 }, "some probe got an answer")
        for key in ["time", "node", "endpoint", "url", "method", "success", "duration_seconds", "phases", "remote_ip", "http_version"] {
            #expect(line[key] != nil, "the line carries \(key)")
        }
    }

    @Test func anOutageDeliversEverythingAfterwardsInOrderOnce() async throws {
        let loki = try LokiStandIn()
        defer { loki.shutdown() }
        let proxy = try TCPProxy(upstreamPort: loki.port)
        defer { proxy.shutdown() }
        let target = try TargetServer()
        defer { target.shutdown() }
        let url = "http://127.0.0.1:\(proxy.port)/loki/api/v1/push"
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "test") { _ in CapturingLogHandler(lines: lines) }
        try await run(config(loki: url, target: target), seconds: 2, logger: logger) { _ in
            try await Task.sleep(for: .milliseconds(500))
            proxy.down()
            try await Task.sleep(for: .seconds(3))
            try proxy.up()
        }
        check(loki, holds: target.requests(to: "/ok") + target.requests(to: "/status/500"))
        let logged = lines.withLockedValue { $0 }
        #expect(logged.contains { $0.contains("loki push failed") && $0.contains("backlog_records") },
                "the outage is logged with its backlog; the log: \(logged.suffix(40).joined(separator: "\n"))")
        #expect(logged.contains { $0.contains("loki backlog drained") }, "the drain is logged")
    }

    @Test func aRejectedBatchIsNotResentAndRetryableAnswersAre() async throws {
        let loki = try LokiStandIn()
        defer { loki.shutdown() }
        let target = try TargetServer()
        defer { target.shutdown() }
        let config = config(loki: loki.pushURL, target: target)
        let agent = try await run(config, seconds: 0.3) { agent in
            @Sendable func episode(_ status: Int, count: Int, retryAfter: Int? = nil) async throws {
                let before = loki.statuses.filter { $0 == status }.count
                loki.fail(next: count, status: status, retryAfter: retryAfter)
                _ = try await TestEnvironment.eventually(seconds: 15, "\(count) × \(status) answered") {
                    loki.statuses.filter { $0 == status }.count >= before + count ? true : nil
                }
            }
            try await Task.sleep(for: .milliseconds(500))
            try await episode(400, count: 1)
            try await episode(429, count: 2, retryAfter: 1)
            try await episode(500, count: 2)
            _ = try await TestEnvironment.eventually(seconds: 15, "the Loki reader to catch up") {
                let lag = try agent.spool.statistics(readers: [.loki]).readers.first?.records ?? 1
                return lag == 0 ? true : nil
            }
        }
        let statuses = loki.statuses
        #expect(statuses.filter { $0 == 400 }.count == 1 && statuses.filter { $0 == 429 }.count == 2 && statuses.filter { $0 == 500 }.count == 2)
        let spool = try Spool(config: config.spool, readers: [], logger: Logger(label: "t"))
        let total = Int(spool.lastSequence)
        await spool.close()
        let stored = loki.streams.values.reduce(0) { $0 + $1.count }
        let health = try #require(agent.health.snapshot[.loki])
        let rejected = Int(health.refusedRecords)
        #expect(rejected > 0, "the 400 batch was counted as refused")
        #expect(health.rejected.count == 1 && health.rejected.values.first == 1, "one refusal, by its reason: \(health.rejected)")
        #expect(stored + rejected == total, "every line was stored once or counted as refused, none resent: \(stored) + \(rejected) vs \(total)")
        check(loki, holds: stored)
    }

    @Test func sigkillDuringSendsLosesNothing() async throws {
        let binary = try TestEnvironment.agentBinary()
        let loki = try LokiStandIn()
        defer { loki.shutdown() }
        let target = try TargetServer()
        defer { target.shutdown() }
        let directory = TestEnvironment.temporaryDirectory("loki-crash")
        let path = directory + "/agent.yaml"
        try """
            agent: {node: crash, job: latency-agent, min_interval: 10ms}
            spool: {path: \(directory)/spool}
            server: {port: 0}
            outputs:
              loki: {url: "\(loki.pushURL)", batch_size: 4KiB, batch_wait: 50ms, min_backoff: 50ms, max_backoff: 500ms}
            endpoints:
              - {name: a, url: "\(target.url("/ok"))", interval: 20ms, timeout: 20ms}
              - {name: b, url: "\(target.url("/status/503"))", interval: 30ms, timeout: 30ms}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        try await withDeadline(seconds: 90, "crash loop") {
            for round in 0..<8 {
                _ = try await Subprocess.run(.path(FilePath(binary)), arguments: ["run", "--config", path], input: .none,
                                             output: .discarded, error: .discarded) { execution in
                    try await Task.sleep(for: .milliseconds(300 + 97 * round))
                    try execution.send(signal: .kill)
                }
            }
            _ = try await Subprocess.run(.path(FilePath(binary)), arguments: ["run", "--config", path], input: .none,
                                         output: .discarded, error: .discarded) { execution in
                try await Task.sleep(for: .seconds(1))
                try execution.send(signal: .terminate)
            }
        }
        let spool = try Spool(config: SpoolConfig(path: directory + "/spool"), readers: [.loki], logger: Logger(label: "t"))
        let stats = try spool.statistics(readers: [.loki])
        let durable = try spool.results(after: 0, limit: 1_000_000)
        await spool.close()
        #expect(durable.count > 100, "the runs probed for real: \(durable.count)")
        #expect(stats.readers.first?.records == 0)
        let stored = Set(loki.streams.values.flatMap { $0 }.map { "\($0.timestamp) \($0.line)" })
        let expected = Set(durable.map { "\($0.value.startedAt.unixNanoseconds) \($0.value.jsonLine(node: "crash"))" })
        #expect(stored == expected, "every durable result is in Loki: \(expected.subtracting(stored).count) missing, \(stored.subtracting(expected).count) unexpected")
        check(loki, holds: expected.count)
    }
}
