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
        let client = OutputHTTPClient(name: "loki-test", connection: OutputConnection(url: loki.pushURL))
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

@Suite struct LokiBatchTests {
    static func record(_ sequence: UInt64, _ endpoint: String, at startedAt: Int64, failure: FailureReason? = nil) -> SpoolRecord {
        SpoolRecord(sequence: sequence, result: ProbeResult(
            endpoint: endpoint, url: "https://x/\(endpoint)", method: "GET", connection: .cold, startedAt: startedAt,
            timings: PhaseTimings(dns: 5, total: 1000), statusCode: failure == nil ? 200 : 0,
            failure: failure.map { ProbeFailure(reason: $0, message: "boom \"quoted\"") }))
    }

    @Test func linesAreGroupedIntoOrderedStreamsWithStableLabels() throws {
        let now: Int64 = 1_795_593_600_000_000_000
        let records = [Self.record(1, "a", at: now), Self.record(2, "b", at: now + 1), Self.record(3, "a", at: now + 2, failure: .timeout)]
        let batch = try #require(LokiBatch.build(records, staticLabels: [("cluster", "prod")], job: "j", node: "n", now: now, maxBytes: 1 << 20))
        #expect(batch.lines == 3 && batch.lastSequence == 3 && batch.tooOld == 0)
        let json = try JSONSerialization.jsonObject(with: Data(batch.body.utf8)) as! [String: Any]
        let streams = json["streams"] as! [[String: Any]]
        #expect(streams.map { $0["stream"] as! [String: String] } == [
            ["job": "j", "instance": "n", "endpoint": "a", "cluster": "prod"],
            ["job": "j", "instance": "n", "endpoint": "b", "cluster": "prod"],
        ])
        let values = streams[0]["values"] as! [[String]]
        #expect(values.map { $0[0] } == ["\(now)", "\(now + 2)"], "timestamps are strings of the probes' start, in order")
        let line = try JSONSerialization.jsonObject(with: Data(values[1][1].utf8)) as! [String: Any]
        #expect(line["reason"] as? String == "timeout")
        #expect(line["error"] as? String == "boom \"quoted\"")
        #expect(line["node"] as? String == "n")
    }

    @Test func entriesTooOldForLokiAreLeftOutAndBatchesStopAtTheirSize() throws {
        let now: Int64 = 1_795_593_600_000_000_000
        let old = now - LokiBatch.maxAge - 1
        let records = [Self.record(1, "a", at: old - 1), Self.record(2, "a", at: old)] + (3...100).map { Self.record(UInt64($0), "a", at: now + Int64($0)) }
        let first = try #require(LokiBatch.build(records, staticLabels: [], job: "j", node: "n", now: now, maxBytes: 2000))
        #expect(first.tooOld == 2)
        #expect(first.lines > 0 && first.lineBytes <= 2000)
        #expect(first.lastSequence == UInt64(first.lines + 2), "the cursor covers the left-out records too")
        let allOld = try #require(LokiBatch.build(Array(records.prefix(2)), staticLabels: [], job: "j", node: "n", now: now, maxBytes: 2000))
        #expect(allOld.lines == 0 && allOld.tooOld == 2 && allOld.lastSequence == 2)
        #expect(LokiBatch.build([], staticLabels: [], job: "j", node: "n", now: now, maxBytes: 10) == nil)
    }

    @Test func decisionsAndPacing() {
        func response(_ status: Int, retryAfter: Duration? = nil) -> Result<OutputResponse, TransportError> {
            .success(OutputResponse(status: status, body: "b", retryAfter: retryAfter))
        }
        #expect(LokiDecision(response(204)) == .accepted)
        #expect(LokiDecision(response(429, retryAfter: .seconds(3))) == .retry(reason: "HTTP 429: b", after: .seconds(3)))
        #expect(LokiDecision(response(503)) == .retry(reason: "HTTP 503: b", after: nil))
        for status in [400, 401, 413, 422] { #expect(LokiDecision(response(status)) == .rejected(status: status, reason: "b")) }
        #expect(LokiDecision(.failure(TransportError(reason: .connect, message: "refused"))) == .retry(reason: "connect: refused", after: nil))
        let pacer = LokiPacer(bytesPerSecond: 1000)
        #expect(pacer.pause(afterSending: 500, took: .milliseconds(100)) == .milliseconds(400))
        #expect(pacer.pause(afterSending: 500, took: .seconds(1)) == .zero)
    }
}

/// The Loki output end to end: a real agent, real HTTP targets, the Loki stand-in.
@Suite struct LokiOutputTests {
    func config(loki url: String, target: TargetServer, tenant: String? = nil, paths: [String] = ["/ok", "/status/500"]) -> AgentConfig {
        AgentConfig(
            agent: AgentSettings(node: "node-1", job: "latency-agent"),
            spool: SpoolSettings(path: TestEnvironment.temporaryDirectory("loki")),
            endpoints: paths.enumerated().map { index, path in
                EndpointConfig(name: "ep\(index)", url: target.url(path), interval: .milliseconds(50), timeout: .milliseconds(50))
            },
            outputs: OutputsConfig(loki: LokiConfig(
                connection: OutputConnection(url: url, timeout: .seconds(2)), tenant: tenant, labels: [("cluster", "test")],
                batchSize: 16 * 1024, batchWait: .milliseconds(200), minBackoff: .milliseconds(100), maxBackoff: .seconds(1))))
    }

    func run(
        _ config: AgentConfig, seconds: Double, logger: Logger = Logger(label: "test"),
        during: @escaping @Sendable (Agent) async throws -> Void = { _ in }
    ) async throws {
        let agent = try Agent(config: config, stopSignals: [], logger: logger)
        try await withRunningAgent(agent, deadline: seconds + 30) { agent in
            try await during(agent)
            try await Task.sleep(for: .seconds(seconds))
        }
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
        let line = try JSONSerialization.jsonObject(with: Data(loki.streams.values.first!.first!.line.utf8)) as! [String: Any]
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
        #expect(logged.contains { $0.contains("loki push failed") && $0.contains("backlog_records") }, "the outage is logged with its backlog")
        #expect(logged.contains { $0.contains("loki backlog drained") }, "the drain is logged")
    }

    @Test func aRejectedBatchIsNotResentAndRetryableAnswersAre() async throws {
        let loki = try LokiStandIn()
        defer { loki.shutdown() }
        let target = try TargetServer()
        defer { target.shutdown() }
        let config = config(loki: loki.pushURL, target: target)
        try await run(config, seconds: 0.3) { agent in
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
                let lag = try agent.spool.statistics().readers.first?.records ?? 1
                return lag == 0 ? true : nil
            }
        }
        let statuses = loki.statuses
        #expect(statuses.filter { $0 == 400 }.count == 1 && statuses.filter { $0 == 429 }.count == 2 && statuses.filter { $0 == 500 }.count == 2)
        let spool = try Spool(settings: config.spool, readers: [], logger: Logger(label: "t"))
        let total = Int(try spool.statistics().newest?.sequence ?? 0)
        let counters = try #require(try spool.position(of: LokiConfig.readerName).state.flatMap(LokiCounters.init(decoding:)))
        await spool.close()
        let stored = loki.streams.values.reduce(0) { $0 + $1.count }
        let rejected = Int(counters.rejectedLines["400"] ?? 0)
        #expect(rejected > 0, "the 400 batch was counted as rejected")
        #expect(stored + rejected == total, "every line was stored once or counted as rejected, none resent: \(stored) + \(rejected) vs \(total)")
        #expect(Int(counters.sentLines) == stored)
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
            agent: {node: crash, job: latency-agent}
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
        let spool = try Spool(settings: SpoolSettings(path: directory + "/spool"), readers: ["loki"], logger: Logger(label: "t"))
        let stats = try spool.statistics()
        let durable = try spool.records(after: 0, limit: 1_000_000)
        await spool.close()
        #expect(durable.count > 100, "the runs probed for real: \(durable.count)")
        #expect(stats.readers.first?.records == 0)
        let stored = Set(loki.streams.values.flatMap { $0 }.map { "\($0.timestamp) \($0.line)" })
        let expected = Set(durable.map { "\($0.result.startedAt) \($0.result.jsonLine(node: "crash"))" })
        #expect(stored == expected, "every durable result is in Loki: \(expected.subtracting(stored).count) missing, \(stored.subtracting(expected).count) unexpected")
        check(loki, holds: expected.count)
    }
}
