import Synchronization

/// The agent's own metrics. Events (a probe's start lag, a skipped tick) are counted as they
/// happen; levels (spool size, backlog, probes in flight) are read when rendered. Rendered by the
/// same `ExpositionWriter` as the probe metrics.
public final class SelfMetrics: Sendable {
    /// Upper bounds of the start-lag histogram, in seconds.
    static let lagBounds: [Double] = [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1]

    private struct Counters {
        var lagCounts = [UInt64](repeating: 0, count: SelfMetrics.lagBounds.count + 1)
        var lagSum = Duration.zero
        var skippedInFlight: UInt64 = 0
        var skippedBehind: UInt64 = 0
    }

    private let counters = Mutex(Counters())

    public init() {}

    /// The engine's hooks into these metrics (called on its thread; a lock held for nanoseconds).
    public var probeObserver: ProbeEngine.Observer {
        ProbeEngine.Observer(
            started: { [self] lag in
                let seconds = lag.inSeconds
                let slot = Self.lagBounds.firstIndex { seconds <= $0 } ?? Self.lagBounds.count
                counters.withLock {
                    $0.lagCounts[slot] += 1
                    $0.lagSum += lag
                }
            },
            skipped: { [self] reason, count in
                counters.withLock {
                    if reason == .inFlight { $0.skippedInFlight += UInt64(count) } else { $0.skippedBehind += UInt64(count) }
                }
            })
    }

    /// Everything `/metrics` shows about the agent itself.
    func families(engine: ProbeStatistics, spool: SpoolStatistics?, readers: [ReaderName: ReaderHealth.Entry]) -> [MetricFamily] {
        var build = MetricFamily(name: "latency_agent_build_info", help: "The running agent's version and libcurl; always 1.", kind: .gauge)
        build.samples.append(.init(labels: [("version", AgentVersion.current), ("libcurl", CurlGlobal.version)], value: "1"))
        var families = scheduling() + [gauge("latency_agent_probes_in_flight", "Probes running now.", value: "\(engine.inFlight)"), build]
        if let spool {
            families += [
                gauge("latency_agent_spool_records", "Results in the spool.", value: "\(spool.records)"),
                gauge("latency_agent_spool_bytes", "Bytes the spool's results occupy.", value: "\(spool.bytes)"),
                gauge("latency_agent_spool_max_bytes", "spool.max_size.", value: "\(spool.maxBytes)"),
            ]
        }
        var lastSuccess = MetricFamily(
            name: "latency_agent_output_last_success_timestamp_seconds", help: "When an output last delivered, Unix seconds.",
            kind: .gauge)
        for (reader, entry) in readers.sorted(by: { $0.key.storageKey < $1.key.storageKey }) {
            if let time = entry.lastSuccess { lastSuccess.samples.append(.init(labels: [("output", reader.storageKey)], value: time.unixSecondsText)) }
        }
        return families + [lastSuccess] + Self.delivery(spool: spool, readers: readers)
    }

    /// What matters centrally about this agent, pushed next to its probe metrics: what the spool
    /// lost, how far behind each output is, and deliveries that fail or are refused.
    static func delivery(spool: SpoolStatistics?, readers: [ReaderName: ReaderHealth.Entry]) -> [MetricFamily] {
        var failures = MetricFamily(
            name: "latency_agent_output_failures_total", help: "Delivery attempts an output's backend refused or did not answer.",
            kind: .counter)
        var refused = MetricFamily(
            name: "latency_agent_output_rejected_total", help: "Deliveries an output's backend refused for good (not resent), by reason.",
            kind: .counter)
        var refusedRecords = MetricFamily(
            name: "latency_agent_output_refused_records_total", help: "Records an output's backend refused for good: never delivered.",
            kind: .counter)
        var alertsFailed = MetricFamily(
            name: "latency_agent_alerts_failed_total", help: "Alert messages a receiver refused for good (not resent), by reason.",
            kind: .counter)
        for (reader, entry) in readers.sorted(by: { $0.key.storageKey < $1.key.storageKey }) {
            failures.samples.append(.init(labels: [("output", reader.storageKey)], value: "\(entry.failures)"))
            refusedRecords.samples.append(.init(labels: [("output", reader.storageKey)], value: "\(entry.refusedRecords)"))
            for (reason, count) in entry.rejected.sorted(by: { $0.key < $1.key }) {
                refused.samples.append(.init(labels: [("output", reader.storageKey), ("reason", reason)], value: "\(count)"))
                if let receiver = reader.receiverName {
                    alertsFailed.samples.append(.init(labels: [("receiver", receiver), ("reason", reason)], value: "\(count)"))
                }
            }
        }
        var families = [failures, refused, refusedRecords, alertsFailed]
        if let spool {
            var dropped = MetricFamily(
                name: "latency_agent_spool_dropped_total", help: "Probe results lost before every output had them, by reason.",
                kind: .counter)
            for reason in SpoolDropReason.allCases {
                dropped.samples.append(.init(labels: [("reason", reason.rawValue)], value: "\(spool.dropped(reason))"))
            }
            var backlogRecords = MetricFamily(
                name: "latency_agent_output_backlog_records", help: "Results written but not yet delivered by an output.", kind: .gauge)
            var backlogSeconds = MetricFamily(
                name: "latency_agent_output_backlog_seconds", help: "Age of the oldest result an output has not delivered.", kind: .gauge)
            for lag in spool.readers {
                backlogRecords.samples.append(.init(labels: [("output", lag.reader.storageKey)], value: "\(lag.records)"))
                backlogSeconds.samples.append(.init(labels: [("output", lag.reader.storageKey)], value: lag.age.secondsText))
            }
            families += [dropped, backlogRecords, backlogSeconds]
        }
        return families
    }

    /// Whether this node's prober keeps its schedule: pushed with the probe metrics too, since a
    /// node whose probes start late or are skipped measures less than it claims.
    func scheduling() -> [MetricFamily] {
        let counters = counters.withLock { $0 }
        var lag = MetricFamily(
            name: "latency_agent_scheduler_start_lag_seconds", help: "How late scheduled probes started.", kind: .histogram)
        lag.addHistogram(labels: [], bounds: Self.lagBounds, counts: counters.lagCounts, sum: counters.lagSum)
        return [lag, skippedTicks(counters)]
    }

    private func skippedTicks(_ counters: Counters) -> MetricFamily {
        var family = MetricFamily(
            name: "latency_agent_scheduler_skipped_ticks_total",
            help: "Ticks dropped: the endpoint's previous probe was still running (in_flight) or the scheduler fell behind.",
            kind: .counter)
        family.samples = [
            .init(labels: [("reason", "in_flight")], value: "\(counters.skippedInFlight)"),
            .init(labels: [("reason", "behind")], value: "\(counters.skippedBehind)"),
        ]
        return family
    }

    private func gauge(_ name: String, _ help: String, value: String) -> MetricFamily {
        MetricFamily(name: name, help: help, kind: .gauge, samples: [.init(labels: [], value: value)])
    }
}
