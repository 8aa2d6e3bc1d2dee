@testable import AgentCore
import Testing

/// The fold behind exactly-once counters, tested without I/O.
@Suite struct MetricFoldTests {
    static let minute = Duration.seconds(60)
    static let start = Fixtures.t0

    /// `total` in microseconds.
    static func result(
        _ endpoint: String = "api", total: Int64, failure: FailureReason? = nil, at startedAt: Timestamp = start,
        chainExpiry: Timestamp? = nil
    ) -> ProbeResult {
        Fixtures.result(endpoint, total: .microseconds(total), failure: failure, at: startedAt, chainExpiry: chainExpiry)
    }

    func fold(_ results: [ProbeResult]) -> MetricFold {
        var fold = MetricFold(buckets: [0.01, 0.05, 0.1], uptimeWindow: .seconds(600))
        for result in results { fold.add(result) }
        return fold
    }

    @Test func countsOutcomesAndKeepsFailuresOutOfTheLatencyHistogram() throws {
        let fold = fold([
            Self.result(total: 10_000), Self.result(total: 30_000), Self.result(total: 50_000), Self.result(total: 70_000),
            Self.result(total: 10_000_000, failure: .timeout), Self.result(total: 500, failure: .connect),
        ])
        let metrics = try #require(fold.endpoints["api"])
        #expect(metrics.successes == 4)
        #expect(metrics.failures == 2)
        #expect(metrics.failuresByReason == ["timeout": 1, "connect": 1])
        #expect(metrics.latency.counts == [1, 2, 1, 0], "le is inclusive: 10 ms and 50 ms land in their own buckets")
        #expect(metrics.latency.sum == .milliseconds(160))
        #expect(fold.probeCount == 6)
        #expect(metrics.last.success == false)
    }

    @Test func uptimeCoversTheTrailingWindowOnly() throws {
        var results: [ProbeResult] = []
        for minute in 0..<5 { results.append(Self.result(total: 1000, failure: .connect, at: Self.start + Self.minute * minute)) }
        for minute in 10..<20 { results.append(Self.result(total: 1000, at: Self.start + Self.minute * minute)) }
        results.append(Self.result(total: 1000, failure: .timeout, at: Self.start + Self.minute * 19))
        let fold = fold(results)
        let uptime = try #require(fold.metricFamilies().first { $0.name == "api_uptime_percent" })
        // Window of 10 minutes (10…19): 10 successes, 1 failure; the early failures have left it.
        #expect(uptime.samples.map(\.value) == ["90.91"])
    }

    @Test func theSameRecordsAlwaysFoldToTheSameBytesAndBody() throws {
        var results: [ProbeResult] = []
        for index in 0..<200 {
            let total = Int64(index * 997 % 150_000 + 400)
            let failure: FailureReason? = index % 11 == 0 ? .httpStatus : nil
            let startedAt = Self.start + .seconds(index)
            let expiry: Timestamp? = index % 3 == 0 ? Timestamp(unixSeconds: 1_800_000_000) : nil
            results.append(Self.result("endpoint-\(index % 7)", total: total, failure: failure, at: startedAt, chainExpiry: expiry))
        }
        let first = fold(results)
        let replay = fold(results)
        #expect(first.encoded() == replay.encoded())
        #expect(ExpositionWriter.render(first.metricFamilies()) == ExpositionWriter.render(replay.metricFamilies()))
        let restored = try #require(MetricFold(decoding: first.encoded(), like: fold([])))
        #expect(restored == first)
        // Folding on from a restored state equals folding everything at once: a crash and replay
        // between push and commit changes nothing.
        var resumed = try #require(MetricFold(decoding: fold(Array(results.prefix(120))).encoded(), like: fold([])))
        for result in results.dropFirst(120) { resumed.add(result) }
        #expect(resumed == first)
    }

    @Test func aStateSavedWithOtherBucketsIsNotReused() {
        let saved = fold([Self.result(total: 1000)]).encoded()
        #expect(MetricFold(decoding: saved, like: MetricFold(buckets: [0.5, 1], uptimeWindow: .seconds(600))) == nil)
        #expect(MetricFold(decoding: saved, like: MetricFold(buckets: [0.01, 0.05, 0.1], uptimeWindow: .seconds(60))) == nil)
        #expect(MetricFold(decoding: [9, 9, 9], like: fold([])) == nil)
    }

    /// A removed endpoint is kept (counters continue if it comes back) until its last probe is
    /// older than the cutoff; a configured one is never forgotten.
    @Test func removedEndpointsStayUntilTheirLastProbeIsOldEnough() {
        var fold = fold([Self.result("kept", total: 1000), Self.result("removed", total: 1000), Self.result("quiet", total: 1000)])
        fold.follow(["kept": .init(), "quiet": .init()], forgettingRemovedProbedBefore: Self.start)
        #expect(fold.endpoints.keys.sorted() == ["kept", "quiet", "removed"], "probed at the cutoff: kept")
        fold.follow(["kept": .init(), "quiet": .init()], forgettingRemovedProbedBefore: Self.start + .seconds(1))
        #expect(fold.endpoints.keys.sorted() == ["kept", "quiet"])
        var readded = fold
        readded.add(Self.result("kept", total: 1000))
        #expect(readded.endpoints["kept"]?.successes == 2, "a kept endpoint continues its counters")
    }

    /// The exact body for one endpoint: names, HELP/TYPE, label order, cumulative buckets.
    @Test func theExpositionIsExactlyThis() {
        var fold = MetricFold(buckets: [0.05, 0.1], uptimeWindow: .seconds(60))
        fold.add(Self.result(total: 40_000, chainExpiry: Timestamp(unixSeconds: 1_800_000_000)))
        fold.add(Self.result(total: 90_000, failure: .httpStatus))
        let body = ExpositionWriter.renderText(fold.metricFamilies().filter { ["api_requests_total", "api_latency_seconds", "probe_http_status_code", "probe_ssl_earliest_cert_expiry"].contains($0.name) })
        #expect(body == """
            # HELP api_requests_total Probes made, by outcome.
            # TYPE api_requests_total counter
            api_requests_total{endpoint="api",status="success"} 1
            api_requests_total{endpoint="api",status="failure"} 1
            # HELP api_latency_seconds Duration of successful probes in seconds.
            # TYPE api_latency_seconds histogram
            api_latency_seconds_bucket{endpoint="api",le="0.05"} 1
            api_latency_seconds_bucket{endpoint="api",le="0.1"} 1
            api_latency_seconds_bucket{endpoint="api",le="+Inf"} 1
            api_latency_seconds_sum{endpoint="api"} 0.040000
            api_latency_seconds_count{endpoint="api"} 1
            # HELP probe_http_status_code HTTP status code of the last probe (0 without a response).
            # TYPE probe_http_status_code gauge
            probe_http_status_code{endpoint="api"} 500
            # HELP probe_ssl_earliest_cert_expiry Expiry of the earliest-expiring certificate of the chain, Unix seconds.
            # TYPE probe_ssl_earliest_cert_expiry gauge
            probe_ssl_earliest_cert_expiry{endpoint="api"} 1800000000

            """)
    }

    /// blackbox_exporter's gauges, with its names and values, from the last probe.
    @Test func theBlackboxGaugesDescribeTheLastProbe() {
        var fold = MetricFold(buckets: [0.05], uptimeWindow: .seconds(60))
        var result = Self.result(total: 40_000, failure: .bodyMismatch)
        result.httpVersion = "2"
        result.redirects = 2
        result.remoteIP = "::1"
        result.timings.tls = .microseconds(300)
        fold.add(result)
        let names = ["probe_dns_lookup_time_seconds", "probe_http_ssl", "probe_http_version", "probe_http_redirects", "probe_ip_protocol",
                     "probe_failed_due_to_regex"]
        let body = ExpositionWriter.renderText(fold.metricFamilies().filter { names.contains($0.name) })
        let samples = body.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(samples == [
            #"probe_dns_lookup_time_seconds{endpoint="api"} 0.000100"#, #"probe_http_ssl{endpoint="api"} 1"#,
            #"probe_http_version{endpoint="api"} 2"#, #"probe_http_redirects{endpoint="api"} 2"#, #"probe_ip_protocol{endpoint="api"} 6"#,
            #"probe_failed_due_to_regex{endpoint="api"} 1"#,
        ])
        var plain = Self.result(total: 1000)
        plain.remoteIP = "127.0.0.1"
        fold.add(plain)
        let after = ExpositionWriter.renderText(fold.metricFamilies().filter { names.contains($0.name) })
        #expect(after.contains(#"probe_ip_protocol{endpoint="api"} 4"#) && after.contains(#"probe_http_ssl{endpoint="api"} 0"#)
            && after.contains(#"probe_failed_due_to_regex{endpoint="api"} 0"#) && after.contains(#"probe_http_version{endpoint="api"} 0"#))
        let restored = MetricFold(decoding: fold.encoded(), like: MetricFold(buckets: [0.05], uptimeWindow: .seconds(60)))
        #expect(restored == fold, "the details survive a restart")
    }

    /// A fold saved by an earlier release (coding version 1 without the details, 2 without the
    /// kind's own) still loads: an upgrade continues every counter.
    @Test func anEarlierVersionsFoldStillLoads() throws {
        let previous = fold([Self.result(total: 1000), Self.result(total: 2000, failure: .timeout)])
        let current = previous.encoded()
        // Version 2 is version 3 without the kind's details (here only their end tag, 0); version 1
        // is version 2 without the four detail bytes (no HTTP version, 0 redirects, IP protocol 0, no flags).
        #expect(current.first == 3 && Array(current.suffix(5)) == [0, 0, 0, 0, 0])
        let versionTwo = [2] + current.dropFirst().dropLast(1)
        #expect(try #require(MetricFold(decoding: Array(versionTwo), like: fold([]))) == previous)
        let versionOne = [1] + current.dropFirst().dropLast(5)
        #expect(try #require(MetricFold(decoding: Array(versionOne), like: fold([]))) == previous)
        #expect(MetricFold(decoding: [4] + current.dropFirst(), like: fold([])) == nil, "a newer version is not guessed at")
    }

    @Test func labelValuesAreEscaped() {
        let family = MetricFamily(
            name: "m", help: "help with \\ and\nnewline", kind: .gauge,
            samples: [.init(labels: [("endpoint", "a\"b\\c\nd ünï")], value: "1")])
        #expect(ExpositionWriter.renderText([family]) == "# HELP m help with \\\\ and\\nnewline\n# TYPE m gauge\nm{endpoint=\"a\\\"b\\\\c\\nd ünï\"} 1\n")
    }

    @Test(arguments: [(0.005, "0.005"), (1.0, "1"), (10.0, "10"), (2.5, "2.5"), (Double.infinity, "+Inf")])
    func numbersPrintLikePrometheus(value: Double, text: String) {
        #expect(ExpositionWriter.number(value) == text)
    }

    @Test(arguments: [(UInt64(1), UInt64(3), "33.33"), (2, 3, "66.67"), (0, 0, "100"), (5, 5, "100.00"), (0, 7, "0.00")])
    func percentagesAreExactDecimals(part: UInt64, whole: UInt64, text: String) {
        #expect(MetricFold.percent(part, of: whole) == text)
    }
}

@Suite struct GroupingKeyTests {
    @Test(arguments: [
        ("node-1", "/metrics/job/latency-agent/instance/node-1"),
        ("node/1", "/metrics/job/latency-agent/instance@base64/bm9kZS8x"),
        ("", "/metrics/job/latency-agent/instance@base64/="),
        ("ünï?", "/metrics/job/latency-agent/instance@base64/w7xuw68_"),
    ])
    func groupingKeysUseBase64WhenNeeded(instance: String, path: String) {
        #expect(GroupingKey(job: "latency-agent").url(base: "http://gw:9091/", node: instance) == "http://gw:9091" + path)
    }

    @Test func withTargetsAsInstanceTheNodeIsTheNodeLabel() {
        #expect(GroupingKey(job: "j", nodeLabel: "node").url(base: "http://gw:9091", node: "n/1") == "http://gw:9091/metrics/job/j/node@base64/bi8x")
    }

    @Test(arguments: [
        ("https://api.test/health?x=1", "https://api.test/health?x=1"),
        ("tcp://127.0.0.1:25", "127.0.0.1:25"),
        ("tls://[::1]:443", "[::1]:443"),
        ("grpc://127.0.0.1:50051/pay.v1", "127.0.0.1:50051"),
        ("dns://127.0.0.1:53/a.test?type=A", "127.0.0.1:53"),
        ("dns:///a.test", "dns:///a.test"),
        ("icmp://127.0.0.2", "127.0.0.2"),
    ])
    func theBlackboxTargetIsWhatItsScrapeWouldProbe(url: String, target: String) {
        #expect(ProbeKind.blackboxTarget(url) == target)
    }
}
