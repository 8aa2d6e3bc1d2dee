extension MetricFold {
    /// 2 added the last probe's details (blackbox's gauges), 3 the kind's own (`ProbeDetails`);
    /// an older fold still loads, without them.
    static let codingVersion: UInt8 = 3

    /// The fold as the Pushgateway reader's spool state.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 256 * endpoints.count + 64)
        writer.byte(Self.codingVersion)
        for bounds in [buckets, phaseBuckets] {
            writer.unsigned(UInt64(bounds.count))
            for bound in bounds { writer.unsigned(bound.bitPattern) }
        }
        writer.signed(uptimeWindowMinutes)
        writer.unsigned(UInt64(endpoints.count))
        for name in endpoints.keys.sorted() {
            let metrics = endpoints[name]!
            writer.string(name)
            writer.string(metrics.url)
            writer.string(metrics.method)
            writer.unsigned(metrics.successes)
            writer.unsigned(metrics.failures)
            writer.unsigned(UInt64(metrics.failuresByReason.count))
            for reason in metrics.failuresByReason.keys.sorted() {
                writer.string(reason)
                writer.unsigned(metrics.failuresByReason[reason]!)
            }
            for histogram in [metrics.latency] + metrics.phases {
                for count in histogram.counts { writer.unsigned(count) }
                writer.signed(histogram.sum.inMicroseconds)
            }
            writer.signed(metrics.last.startedAt.unixNanoseconds)
            writer.byte(metrics.last.success ? 1 : 0)
            writer.signed(Int64(metrics.last.statusCode))
            writer.signed(metrics.last.total.inMicroseconds)
            writer.unsigned(UInt64(metrics.last.phases.count))
            for phase in metrics.last.phases { writer.optional(phase) { $0.signed($1.inMicroseconds) } }
            writer.optional(metrics.chainEarliestExpiry) { $0.signed($1.unixSeconds) }
            writer.unsigned(UInt64(metrics.uptime.count))
            for minute in metrics.uptime {
                writer.signed(minute.minute)
                writer.unsigned(minute.succeeded)
                writer.unsigned(minute.total)
            }
            let details = metrics.last.details
            writer.optional(details.httpVersion) { $0.string($1) }
            writer.unsigned(UInt64(details.redirects))
            writer.byte(UInt8(details.ipProtocol))
            writer.byte((details.usedTLS ? 1 : 0) | (details.failedDueToRegex ? 2 : 0))
            details.probe.encode(into: &writer)
        }
        return writer.bytes
    }

    /// Restores a fold saved with the same buckets and window; nil when they differ (the
    /// histograms could not continue) or the bytes are not a fold.
    public init?(decoding bytes: [UInt8], like template: MetricFold) {
        let (buckets, phaseBuckets) = (template.buckets, template.phaseBuckets)
        let uptimeWindow = Duration.seconds(template.uptimeWindowMinutes * 60)
        self.init(buckets: buckets, phaseBuckets: phaseBuckets, uptimeWindow: uptimeWindow)
        guard let decoded = try? ByteReader.reading(bytes, decodeEndpoints) else { return nil }
        endpoints = decoded
    }

    private func decodeEndpoints(_ reader: inout ByteReader) throws(ByteReader.Malformed) -> [String: EndpointMetrics]? {
        let version = try reader.byte()
        guard (1...Self.codingVersion).contains(version) else { return nil }
        var savedBounds: [[Double]] = []
        for _ in 0..<2 {
            let count = Int(try reader.unsigned())
            var bounds: [Double] = []
            for _ in 0..<count { bounds.append(Double(bitPattern: try reader.unsigned())) }
            savedBounds.append(bounds)
        }
        let savedWindow = try reader.signed()
        guard savedBounds == [buckets, phaseBuckets], savedWindow == uptimeWindowMinutes else { return nil }
        var endpoints: [String: EndpointMetrics] = [:]
        let count1 = try reader.unsigned()
        for _ in 0..<count1 {
            let name = try reader.string()
            let url = try reader.string()
            let method = try reader.string()
            let successes = try reader.unsigned()
            let failures = try reader.unsigned()
            var byReason: [String: UInt64] = [:]
            let count2 = try reader.unsigned()
            for _ in 0..<count2 { byReason[try reader.string()] = try reader.unsigned() }
            var histograms: [Histogram] = []
            let phaseCount = phaseBuckets.isEmpty ? 0 : Phase.allCases.count
            for index in 0...phaseCount {
                var histogram = Histogram(bucketCount: index == 0 ? buckets.count : phaseBuckets.count)
                for slot in histogram.counts.indices { histogram.counts[slot] = try reader.unsigned() }
                histogram.sum = .microseconds(try reader.signed())
                histograms.append(histogram)
            }
            let startedAt = Timestamp(unixNanoseconds: try reader.signed())
            let success = try reader.byte() == 1
            let statusCode = try reader.int()
            let total = Duration.microseconds(try reader.signed())
            var phases: [Duration?] = []
            let count3 = try reader.unsigned()
            for _ in 0..<count3 {
                phases.append(try reader.optional { (r: inout ByteReader) throws(ByteReader.Malformed) in .microseconds(try r.signed()) })
            }
            let chain = try reader.optional { (r: inout ByteReader) throws(ByteReader.Malformed) in Timestamp(unixSeconds: try r.signed()) }
            var uptime: [UptimeMinute] = []
            let count4 = try reader.unsigned()
            for _ in 0..<count4 {
                uptime.append(UptimeMinute(minute: try reader.signed(), succeeded: try reader.unsigned(), total: try reader.unsigned()))
            }
            var last = LastProbe(startedAt: startedAt, success: success, statusCode: statusCode, total: total, phases: phases)
            if version >= 2 {
                last.details.httpVersion = try reader.optional { (r: inout ByteReader) throws(ByteReader.Malformed) in try r.string() }
                last.details.redirects = Int(try reader.unsigned())
                last.details.ipProtocol = Int(try reader.byte())
                let flags = try reader.byte()
                last.details.usedTLS = flags & 1 != 0
                last.details.failedDueToRegex = flags & 2 != 0
            }
            if version >= 3 { last.details.probe = try ProbeDetails(reading: &reader) }
            endpoints[name] = EndpointMetrics(
                url: url, method: method, successes: successes, failures: failures, failuresByReason: byReason,
                latency: histograms[0], phases: Array(histograms.dropFirst()), last: last, chainEarliestExpiry: chain, uptime: uptime)
        }
        guard reader.isAtEnd else { throw ByteReader.Malformed() }
        return endpoints
    }
}
