@testable import AgentCore
import Foundation
import Testing

/// The Loki reader's batching, pacing and answers, driven with chosen times.
@Suite struct LokiPolicyTests {
    static func config(batchSize: Int = 1 << 20, batchWait: Duration = .seconds(1), gzip: Bool = false) -> LokiConfig {
        var config = LokiConfig(connection: ConnectionConfig(url: "http://127.0.0.1:3100/loki/api/v1/push"), tenant: "team-a",
                                labels: [.init(name: "cluster", value: "prod")], batchWait: batchWait)
        config.batchSize = batchSize
        config.gzip = gzip
        return config
    }

    func machine(_ config: LokiConfig = config()) -> SpoolReaderMachine<LokiPolicy> {
        SpoolReaderMachine(policy: LokiPolicy(config: config, job: "latency-agent", node: "edge-1"), retry: config.retry)
    }

    static func streams(_ request: OutputRequest) throws -> [[String: Any]] {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        return try #require(json["streams"] as? [[String: Any]])
    }

    @Test func aSmallBatchWaitsForCompanyAndGoesAtBatchWait() throws {
        var machine = machine()
        var step = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 2))
        #expect(step.next.label() == "read 0+4000")
        step = machine.read(Fixtures.entries(1...2), context: Fixtures.context(lastSequence: 2))
        #expect(step.next.label() == "wait 1s or change", "two lines wait up to batch_wait for more")
        let later = Fixtures.m0 + .milliseconds(400)
        step = machine.waited(context: Fixtures.context(at: later, lastSequence: 3))
        step = machine.read(Fixtures.entries(3...3), context: Fixtures.context(at: later, lastSequence: 3))
        #expect(step.next.label(from: later) == "wait 600ms or change", "the wait is from the first line, not the last")
        step = machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(1), lastSequence: 3))
        let request = try #require(step.next.request)
        #expect(request.headers.contains(HTTPHeader(name: "X-Scope-OrgID", value: "team-a")))
        let streams = try Self.streams(request)
        #expect(streams.count == 1)
        #expect((streams[0]["stream"] as? [String: String]) == ["job": "latency-agent", "instance": "edge-1", "endpoint": "api", "cluster": "prod"])
        let values = try #require(streams[0]["values"] as? [[String]])
        #expect(values.map { $0[0] } == (1...3).map { "\((Fixtures.t0 + .seconds($0)).unixNanoseconds)" }, "the probe's own time, as a string")
        step = machine.answered(Fixtures.answer(204), context: Fixtures.context(at: Fixtures.m0 + .seconds(1), lastSequence: 3))
        #expect(step.next.label() == "commit 3")
    }

    @Test func aFullBatchGoesAtOnceAndTheRestStartsTheNext() throws {
        var machine = machine(Self.config(batchSize: 1024))
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 10))
        let step = machine.read(Fixtures.entries(1...10), context: Fixtures.context(lastSequence: 10))
        let first = try #require(step.next.request, "lines over batch_size close the batch without waiting")
        let lines = try #require(try Self.streams(first)[0]["values"] as? [[String]]).count
        #expect(lines > 0 && lines < 10)
        var next = machine.answered(Fixtures.answer(204), context: Fixtures.context(lastSequence: 10))
        #expect(next.next.commit?.cursor == UInt64(lines))
        next = machine.committed(next.next.commit!, context: Fixtures.context(lastSequence: 10))
        // Caught up on reading: the carried records open the next batch, which waits out the pace.
        #expect(next.next.label().hasPrefix("wait"), "\(next.next.label())")
    }

    @Test func aRetryResendsTheSameBatchUntilAccepted() throws {
        var machine = machine()
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 3))
        _ = machine.read(Fixtures.entries(1...3), context: Fixtures.context(lastSequence: 3))
        let sent = try #require(machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(1), lastSequence: 3)).next.request)
        var now = Fixtures.m0 + .seconds(1)
        for answer in [Fixtures.answer(429, retryAfter: .seconds(2)), Fixtures.answer(500), Fixtures.refused] {
            _ = machine.answered(answer, context: Fixtures.context(at: now, lastSequence: 5))
            now = now + .seconds(5)
            let again = try #require(machine.waited(context: Fixtures.context(at: now, lastSequence: 5)).next.request)
            #expect(again.body == sent.body, "the same lines, never rebuilt or extended")
        }
        let accepted = machine.answered(Fixtures.answer(204), context: Fixtures.context(at: now, lastSequence: 5))
        #expect(accepted.next.commit?.cursor == 3)
    }

    @Test func otherClientErrorsAreCountedAsRefusedAndNotResent() {
        var machine = machine()
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 2))
        _ = machine.read(Fixtures.entries(1...2), context: Fixtures.context(lastSequence: 2))
        _ = machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(1), lastSequence: 2))
        for status in [400, 401, 413, 422] {
            var copy = machine
            let step = copy.answered(Fixtures.answer(status, "nope"), context: Fixtures.context(lastSequence: 2))
            #expect(step.notes.contains(.rejected(reason: "HTTP \(status): nope")))
            #expect(step.next.commit?.cursor == 2, "HTTP \(status): not resent")
        }
    }

    @Test func linesOlderThanSevenDaysAreLeftOutAndCounted() throws {
        var machine = machine()
        let old = Fixtures.t0 - .seconds(8 * 86_400)
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 3))
        var entries = Fixtures.entries(1...3)
        entries[0].value.startedAt = old
        _ = machine.read(entries, context: Fixtures.context(lastSequence: 3))
        let request = try #require(machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(1), lastSequence: 3)).next.request)
        #expect(try #require(try Self.streams(request)[0]["values"] as? [[String]]).count == 2)
        let step = machine.answered(Fixtures.answer(204), context: Fixtures.context(lastSequence: 3))
        #expect(step.next.commit?.cursor == 3, "the cursor moves past the old line too")
        #expect(step.notes.contains { if case .log(let note) = $0 { note.message == "left out lines older than Loki accepts" } else { false } })
    }

    /// After a batch the next waits until its bytes would have taken at `max_bytes_per_second`.
    @Test func catchUpIsPacedToTheByteRate() throws {
        var config = Self.config(batchSize: 64 * 1024)
        config.maxBytesPerSecond = 32 * 1024
        var machine = machine(config)
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 4000))
        var step = machine.read(Fixtures.entries(1...4000), context: Fixtures.context(lastSequence: 4000))
        #expect(step.next.request != nil)
        step = machine.answered(Fixtures.answer(204), context: Fixtures.context(at: Fixtures.m0 + .milliseconds(100), lastSequence: 4000))
        step = machine.committed(step.next.commit!, context: Fixtures.context(at: Fixtures.m0 + .milliseconds(100), lastSequence: 4000))
        guard case .wait(let until?, false) = step.next else {
            Issue.record("expected a pace, got \(step.next.label())")
            return
        }
        let pause = until - Fixtures.m0
        #expect(pause > .milliseconds(1500) && pause <= .seconds(2), "64 KiB at 32 KiB/s: about two seconds from the send")
    }

    @Test func gzipAndHeadersAreSet() throws {
        var machine = machine(Self.config(gzip: true))
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 1))
        _ = machine.read(Fixtures.entries(1...1), context: Fixtures.context(lastSequence: 1))
        let request = try #require(machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(2), lastSequence: 1)).next.request)
        #expect(request.headers.contains(HTTPHeader(name: "Content-Encoding", value: "gzip")))
        #expect(request.headers.contains(HTTPHeader(name: "Content-Type", value: "application/json")))
        #expect(Array(request.body.prefix(2)) == [0x1f, 0x8b])
    }

    @Test func shutdownSendsWhatIsLeftWithoutWaiting() throws {
        var machine = machine()
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 2))
        _ = machine.read(Fixtures.entries(1...2), context: Fixtures.context(lastSequence: 2))
        _ = machine.shutdown(context: Fixtures.context(lastSequence: 2))
        #expect(machine.flushed(context: Fixtures.context(lastSequence: 2)).next.request != nil, "no batch_wait at shutdown")
    }
}

@Suite struct LokiBatchTests {
    static func entry(_ sequence: UInt64, _ endpoint: String, at startedAt: Timestamp, failure: FailureReason? = nil) -> SpoolEntry<ProbeResult> {
        SpoolEntry(sequence: sequence, value: ProbeResult(
            endpoint: endpoint, url: "https://x/\(endpoint)", method: "GET", connection: .cold, startedAt: startedAt,
            timings: PhaseTimings(resolve: .microseconds(5), total: .milliseconds(1)), statusCode: failure == nil ? 200 : 0,
            failure: failure.map { ProbeFailure(reason: $0, message: "boom \"quoted\"") }))
    }

    @Test func linesAreGroupedIntoOrderedStreamsWithStableLabels() throws {
        let now = Fixtures.t0
        var batch = LokiBatch(job: "j", node: "n", staticLabels: [.init(name: "cluster", value: "prod")], maxBytes: 1 << 20)
        for entry in [Self.entry(1, "a", at: now), Self.entry(2, "b", at: now + .nanoseconds(1)), Self.entry(3, "a", at: now + .nanoseconds(2), failure: .timeout)] {
            let added = batch.add(entry, now: now)
            #expect(added)
        }
        #expect(batch.lines == 3 && batch.lastSequence == 3 && batch.tooOld == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(batch.body)) as? [String: Any])
        let streams = try #require(json["streams"] as? [[String: Any]])
        #expect(streams.map { $0["stream"] as? [String: String] } == [
            ["job": "j", "instance": "n", "endpoint": "a", "cluster": "prod"],
            ["job": "j", "instance": "n", "endpoint": "b", "cluster": "prod"],
        ])
        let values = try #require(streams[0]["values"] as? [[String]])
        #expect(values.map { $0[0] } == ["\(now.unixNanoseconds)", "\(now.unixNanoseconds + 2)"], "timestamps are strings of the probes' start, in order")
        let line = try #require(try JSONSerialization.jsonObject(with: Data(values[1][1].utf8)) as? [String: Any])
        #expect(line["reason"] as? String == "timeout")
        #expect(line["error"] as? String == "boom \"quoted\"")
        #expect(line["node"] as? String == "n")
    }

    /// `endpoint_labels: [team]`: the named endpoint labels, and only those, join the stream.
    @Test func namedEndpointLabelsJoinTheStream() throws {
        let yaml = "outputs:\n  loki: {url: \"http://127.0.0.1:1/loki/api/v1/push\", endpoint_labels: [team], gzip: false}\nendpoints:\n"
            + "  - {name: a, url: \"http://127.0.0.1:1/\", labels: {team: pay, env: prod}}\n"
        let configuration = try ConfigLoader(environment: [:], hostname: "h").parse(yaml: yaml, source: "c.yaml")
        let loki = try #require(configuration.outputs.loki)
        #expect(loki.endpointLabels == ["team"])
        var machine = SpoolReaderMachine(policy: LokiPolicy(config: loki, job: "j", node: "n"), retry: loki.retry)
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 1, configuration: configuration))
        var step = machine.read([Self.entry(1, "a", at: Fixtures.t0)], context: Fixtures.context(lastSequence: 1, configuration: configuration))
        if step.next.request == nil {
            step = machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(2), lastSequence: 1, configuration: configuration))
        }
        let request = try #require(step.next.request)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        let streams = try #require(json["streams"] as? [[String: Any]])
        #expect(streams.first?["stream"] as? [String: String] == ["job": "j", "instance": "n", "endpoint": "a", "team": "pay"])
        #expect(throws: ConfigError.self) {
            try ConfigLoader(environment: [:], hostname: "h").parse(
                yaml: yaml.replacingOccurrences(of: "[team]", with: "[job]"), source: "c.yaml")
        }
    }

    @Test func aBatchStopsAtItsSizeButAlwaysTakesItsFirstLine() {
        var tiny = LokiBatch(job: "j", node: "n", staticLabels: [], maxBytes: 10)
        let first = tiny.add(Self.entry(1, "a", at: Fixtures.t0), now: Fixtures.t0)
        let second = tiny.add(Self.entry(2, "a", at: Fixtures.t0), now: Fixtures.t0)
        #expect(first, "a line larger than the batch still goes, alone")
        #expect(!second)
        #expect(tiny.lines == 1 && tiny.lastSequence == 1)
    }
}
