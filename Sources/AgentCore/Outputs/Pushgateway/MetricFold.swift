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

    /// The phases of `probe_http_duration_seconds` and `probe_phase_duration_seconds`, in blackbox's names.
    public static let phases = ["resolve", "connect", "tls", "processing", "transfer"]

    public init(buckets: [Double], phaseBuckets: [Double] = PushgatewayConfig.defaultPhaseBuckets, uptimeWindow: Duration) {
        self.buckets = buckets
        self.phaseBuckets = phaseBuckets
        self.uptimeWindowMinutes = max(1, (uptimeWindow.nanoseconds + 59_999_999_999) / 60_000_000_000)
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
        /// The latest known certificate expiries; kept when a probe could not read them.
        public var chainEarliestExpiry: Int64?
        public var uptime: [UptimeMinute] = []
    }

    public struct LastProbe: Sendable, Equatable {
        public var startedAt: Int64
        public var success: Bool
        public var statusCode: Int
        public var totalMicroseconds: Int64
        public var phaseMicroseconds: [Int64?]
    }

    public struct UptimeMinute: Sendable, Equatable {
        public var minute: Int64
        public var succeeded: UInt64
        public var total: UInt64
    }

    /// Bucket counts (not cumulative; the last slot is above every bound), sum and count.
    public struct Histogram: Sendable, Equatable {
        public var counts: [UInt64]
        public var sumMicroseconds: Int64 = 0

        init(bucketCount: Int) {
            counts = Array(repeating: 0, count: bucketCount + 1)
        }

        mutating func observe(microseconds: Int64, bounds: [Double]) {
            let seconds = Double(microseconds) / 1e6
            let index = bounds.firstIndex { seconds <= $0 } ?? bounds.count
            counts[index] += 1
            sumMicroseconds += microseconds
        }
    }

    public mutating func add(_ result: ProbeResult) {
        let phaseValues = [
            result.timings.dns, result.timings.connect, result.timings.tls, result.timings.processing,
            result.timings.transfer,
        ]
        var metrics =
            endpoints[result.endpoint]
            ?? EndpointMetrics(
                url: result.url, method: result.method, latency: Histogram(bucketCount: buckets.count),
                phases: Array(repeating: Histogram(bucketCount: phaseBuckets.count), count: phaseBuckets.isEmpty ? 0 : Self.phases.count),
                last: LastProbe(startedAt: 0, success: false, statusCode: 0, totalMicroseconds: 0, phaseMicroseconds: []))
        metrics.url = result.url
        metrics.method = result.method
        if let failure = result.failure {
            metrics.failures += 1
            metrics.failuresByReason[failure.reason.rawValue, default: 0] += 1
        } else {
            metrics.successes += 1
            metrics.latency.observe(microseconds: result.timings.total, bounds: buckets)
            for (index, value) in phaseValues.enumerated() where !phaseBuckets.isEmpty {
                if let value { metrics.phases[index].observe(microseconds: value, bounds: phaseBuckets) }
            }
        }
        metrics.last = LastProbe(
            startedAt: result.startedAt, success: result.succeeded, statusCode: result.statusCode,
            totalMicroseconds: result.timings.total, phaseMicroseconds: phaseValues)
        if let expiry = result.chainEarliestExpiry { metrics.chainEarliestExpiry = expiry }
        let minute = result.startedAt / 60_000_000_000
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

    /// Forgets endpoints no longer configured, so a removed endpoint's series leave the gateway
    /// with the next push (PUT replaces the whole group).
    public mutating func retain(endpointsNamed names: Set<String>) {
        endpoints = endpoints.filter { names.contains($0.key) }
    }

    /// Probes folded in, over every endpoint: `sum(api_requests_total)`.
    public var probeCount: UInt64 {
        endpoints.values.reduce(0) { $0 + $1.successes + $1.failures }
    }
}
