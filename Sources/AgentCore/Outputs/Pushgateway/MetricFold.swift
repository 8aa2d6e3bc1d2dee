/// The cumulative metrics of every endpoint, folded from spooled results in spool order.
///
/// This is DESIGN invariant 2: the Pushgateway reader pushes the fold at position N and then
/// commits it with cursor N in one spool transaction. The fold is a pure function of the records
/// (no clock, no randomness), so a crash between push and commit refolds the same records into
/// the same state and pushes identical values again — counters never count a probe twice.
public struct MetricFold: Sendable, Equatable {
    /// Latency histogram upper bounds in seconds.
    public let buckets: [Double]
    /// Per-phase histogram upper bounds; empty turns the per-phase histograms off.
    public let phaseBuckets: [Double]
    /// `api_uptime_percent` covers this many minutes before the newest result.
    public let uptimeWindowMinutes: Int64
    public internal(set) var endpoints: [String: EndpointMetrics] = [:]

    public init(buckets: [Double], phaseBuckets: [Double] = PushgatewayConfig.defaultPhaseBuckets, uptimeWindow: Duration) {
        self.buckets = buckets
        self.phaseBuckets = phaseBuckets
        self.uptimeWindowMinutes = max(1, uptimeWindow.inMinutesRoundedUp)
    }

    /// The fold the Pushgateway reader keeps for its configuration.
    public init(_ config: PushgatewayConfig) {
        self.init(buckets: config.buckets, phaseBuckets: config.phaseBuckets, uptimeWindow: config.uptimeWindow)
    }

    public struct EndpointMetrics: Sendable, Equatable {
        public var url: String
        public var method: String
        public var successes: UInt64 = 0
        public var failures: UInt64 = 0
        public var failuresByReason: [String: UInt64] = [:]
        /// Total duration of successful probes (failures would drag it to their timeout or to 0).
        public var latency: Histogram
        /// One histogram per phase, over successful probes that reached the phase.
        public var phases: [Histogram]
        public var last: LastProbe
        /// The latest known earliest chain expiry; kept when a probe could not read it.
        public var chainEarliestExpiry: Timestamp?
        public var uptime: [UptimeMinute] = []
        /// The endpoint's configured labels, on every series; set from the configuration (not
        /// from results, and not saved), kept while a removed endpoint's counters are.
        public var labels = EndpointLabels()
    }

    public struct LastProbe: Sendable, Equatable {
        public var startedAt: Timestamp
        public var success: Bool
        public var statusCode: Int
        public var total: Duration
        /// One per `Phase`, in its order; nil for a phase the probe did not reach.
        public var phases: [Duration?]
        /// What blackbox_exporter's gauges tell of the last probe.
        public var details = Details()

        public struct Details: Sendable, Equatable {
            /// "1.1", "2"; nil without a response.
            public var httpVersion: String?
            public var redirects = 0
            /// 4 or 6; 0 when no address was reached.
            public var ipProtocol = 0
            public var usedTLS = false
            public var failedDueToRegex = false
            /// The kind's own facts (TLS session, DNS, ICMP, gRPC), as the result carried them.
            public var probe = ProbeDetails()
        }
    }

    public struct UptimeMinute: Sendable, Equatable {
        public var minute: Int64
        public var succeeded: UInt64
        public var total: UInt64
    }

    /// Bucket counts (not cumulative; the last slot is above every bound), sum and count. The sum
    /// is kept in whole microseconds, so it is exact and equal folds render equal bodies.
    public struct Histogram: Sendable, Equatable {
        public var counts: [UInt64]

        init(bucketCount: Int) {
            counts = Array(repeating: 0, count: bucketCount + 1)
        }

        /// Observes a value of whole microseconds (what results carry).
        mutating func observe(microseconds: Int64, bounds: [Double]) {
            let seconds = Double(microseconds) / 1e6
            let index = bounds.firstIndex { seconds <= $0 } ?? bounds.count
            counts[index] += 1
            sumMicros += microseconds
        }

        /// Kept in whole microseconds, so sums stay exact and cheap.
        private var sumMicros: Int64 = 0
        public var sum: Duration {
            get { .microseconds(sumMicros) }
            set { sumMicros = newValue.inMicroseconds }
        }
    }

    public mutating func add(_ result: ProbeResult) {
        let phaseValues = Phase.allCases.map { result.timings.microseconds($0) }
        var metrics =
            endpoints[result.endpoint]
            ?? EndpointMetrics(
                url: result.url, method: result.method, latency: Histogram(bucketCount: buckets.count),
                phases: Array(repeating: Histogram(bucketCount: phaseBuckets.count), count: phaseBuckets.isEmpty ? 0 : Phase.allCases.count),
                last: LastProbe(startedAt: Timestamp(unixNanoseconds: 0), success: false, statusCode: 0, total: .zero, phases: []))
        metrics.url = result.url
        metrics.method = result.method
        if let failure = result.failure {
            metrics.failures += 1
            metrics.failuresByReason[failure.reason.rawValue, default: 0] += 1
        } else {
            metrics.successes += 1
            metrics.latency.observe(microseconds: result.timings.totalMicroseconds, bounds: buckets)
            for (index, value) in phaseValues.enumerated() where !phaseBuckets.isEmpty {
                if let value { metrics.phases[index].observe(microseconds: value, bounds: phaseBuckets) }
            }
        }
        metrics.last = LastProbe(
            startedAt: result.startedAt, success: result.succeeded, statusCode: result.statusCode,
            total: result.timings.total, phases: phaseValues.map { $0.map { .microseconds($0) } },
            details: LastProbe.Details(
                httpVersion: result.httpVersion, redirects: result.redirects,
                ipProtocol: result.remoteIP.map { $0.contains(":") ? 6 : 4 } ?? 0, usedTLS: result.timings.tls != nil,
                failedDueToRegex: result.failure?.reason == .bodyMismatch || result.failure?.reason == .queryResponse, probe: result.details))
        if let expiry = result.chainEarliestExpiry { metrics.chainEarliestExpiry = expiry }
        let minute = result.startedAt.truncated(to: .seconds(60)).unixSeconds / 60
        if let index = metrics.uptime.lastIndex(where: { $0.minute == minute }) {
            metrics.uptime[index].total += 1
            if result.succeeded { metrics.uptime[index].succeeded += 1 }
        } else {
            metrics.uptime.append(UptimeMinute(minute: minute, succeeded: result.succeeded ? 1 : 0, total: 1))
            metrics.uptime.sort { $0.minute < $1.minute }
        }
        let newest = metrics.uptime.last!.minute
        metrics.uptime.removeAll { $0.minute <= newest - uptimeWindowMinutes }
        endpoints[result.endpoint] = metrics
    }

    /// Forgets the endpoints that are no longer configured and were last probed before `cutoff`.
    ///
    /// A removed endpoint's counters are kept until then (`spool.retain` after its last probe), so
    /// a reload that removes and re-adds it continues its counters instead of resetting them, and
    /// the gateway's sums stay equal to the probes made.
    ///
    /// The configured ones take their labels from `configured`.
    public mutating func follow(_ configured: [String: EndpointLabels], forgettingRemovedProbedBefore cutoff: Timestamp) {
        endpoints = endpoints.filter { configured[$0.key] != nil || $0.value.last.startedAt >= cutoff }
        for (name, labels) in configured where endpoints[name] != nil && endpoints[name]!.labels != labels {
            endpoints[name]!.labels = labels
        }
    }

    /// Probes folded in, over every endpoint: `sum(api_requests_total)`.
    public var probeCount: UInt64 {
        endpoints.values.reduce(0) { $0 + $1.successes + $1.failures }
    }
}
