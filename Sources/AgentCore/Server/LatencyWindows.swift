import Foundation

/// One endpoint's recent history for `/status`: per-minute buckets for the last hour and
/// per-hour buckets for the last day, each with a log-scale latency histogram of successful
/// probes and the success count. Pure: time is passed in.
///
/// Percentiles come from the histogram (buckets 25 % apart from 100 µs to about 6 minutes), so
/// they are within one bucket of the truth while a day of 1-second probes costs kilobytes.
public struct LatencyWindows: Sendable, Equatable {
    public struct Bucket: Sendable, Equatable {
        public var start: Timestamp
        public var succeeded: UInt32 = 0
        public var total: UInt32 = 0
        /// Counts per latency bucket; empty until the first success.
        public var counts: [UInt32] = []
    }

    public private(set) var minutes: [Bucket] = []
    public private(set) var hours: [Bucket] = []

    /// Upper bounds in microseconds: 100 µs × 1.25^k.
    public static let bounds: [Int64] = (0..<52).map { Int64(100 * pow(1.25, Double($0))) }

    static let minute = Duration.seconds(60)
    static let hour = Duration.seconds(3600)

    public init() {}

    public mutating func add(_ result: ProbeResult) {
        Self.add(result, to: &minutes, width: Self.minute, keep: 60)
        Self.add(result, to: &hours, width: Self.hour, keep: 24)
    }

    private static func add(_ result: ProbeResult, to buckets: inout [Bucket], width: Duration, keep: Int) {
        let start = result.startedAt.truncated(to: width)
        var index = buckets.lastIndex { $0.start == start }
        if index == nil {
            buckets.append(Bucket(start: start))
            buckets.sort { $0.start < $1.start }
            if buckets.count > keep { buckets.removeFirst(buckets.count - keep) }
            index = buckets.lastIndex { $0.start == start }
        }
        guard let index else { return }  // older than everything kept
        buckets[index].total += 1
        if result.succeeded {
            buckets[index].succeeded += 1
            if buckets[index].counts.isEmpty { buckets[index].counts = Array(repeating: 0, count: bounds.count + 1) }
            let micros = result.timings.total.inMicroseconds
            let slot = bounds.firstIndex { micros <= $0 } ?? bounds.count
            buckets[index].counts[slot] += 1
        }
    }

    /// Percentiles and uptime over the buckets that started within a span before now.
    public struct Summary: Sendable, Equatable {
        public var probes: Int
        public var uptimePercent: Double?
        public var p50: Duration?
        public var p95: Duration?
        public var p99: Duration?
    }

    public func summary(lastHour: Bool, now: Timestamp) -> Summary {
        let (buckets, span) = lastHour ? (minutes, Self.hour) : (hours, Self.hour * 24)
        return Self.summarize(buckets.filter { $0.start > now - span })
    }

    /// p50, p95 and failures of each minute of the last hour, for the status page's chart.
    public func minuteSeries(now: Timestamp) -> [MinutePoint] {
        minutes.filter { $0.start > now - Self.hour }.map { bucket in
            let summary = Self.summarize([bucket])
            return MinutePoint(start: bucket.start, p50: summary.p50, p95: summary.p95, failures: Int(bucket.total - bucket.succeeded))
        }
    }

    public struct MinutePoint: Sendable, Equatable {
        public var start: Timestamp
        public var p50: Duration?
        public var p95: Duration?
        public var failures: Int
    }

    static func summarize(_ buckets: [Bucket]) -> Summary {
        let total = buckets.reduce(0) { $0 + Int($1.total) }
        let succeeded = buckets.reduce(0) { $0 + Int($1.succeeded) }
        var counts = Array(repeating: UInt64(0), count: bounds.count + 1)
        for bucket in buckets where !bucket.counts.isEmpty {
            for (slot, count) in bucket.counts.enumerated() { counts[slot] += UInt64(count) }
        }
        func quantile(_ q: Double) -> Duration? {
            guard succeeded > 0 else { return nil }
            let rank = UInt64((q * Double(succeeded)).rounded(.up))
            var cumulative: UInt64 = 0
            for (slot, count) in counts.enumerated() {
                cumulative += count
                if cumulative >= max(1, rank) { return .microseconds(slot < bounds.count ? bounds[slot] : bounds.last! * 2) }
            }
            return nil
        }
        return Summary(
            probes: total, uptimePercent: total == 0 ? nil : Double(succeeded) * 100 / Double(total),
            p50: quantile(0.5), p95: quantile(0.95), p99: quantile(0.99))
    }
}
