import Prometheus

/// The agent's own metrics. Events (a probe's start lag, a skipped tick, an output's failed
/// attempt) are recorded into swift-prometheus as they happen; levels (spool size, backlog, probes
/// in flight) are set when `/metrics` is scraped.
public final class SelfMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let startLag: DurationHistogram
    private let skippedInFlight: Counter
    private let skippedBehind: Counter

    /// `latency_agent_<name>[_<unit>]` with its help text.
    private static func name(_ name: String, unit: String = "", _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "latency_agent", metricName: name, unitName: unit, helpText: help)
    }

    private static var skippedTicks: MetricNameDescriptor {
        name(
        "scheduler_skipped_ticks", unit: "total",
            "Ticks dropped: the endpoint's previous probe was still running (in_flight) or the scheduler fell behind.")
    }

    public init() {
        startLag = registry.makeDurationHistogram(
            descriptor: Self.name("scheduler_start_lag", unit: "seconds", "How late scheduled probes started."),
            buckets: [
                .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                .milliseconds(10), .milliseconds(50), .milliseconds(250), .seconds(1),
            ])
        skippedInFlight = registry.makeCounter(descriptor: Self.skippedTicks, labels: [("reason", "in_flight")])
        skippedBehind = registry.makeCounter(descriptor: Self.skippedTicks, labels: [("reason", "behind")])
        registry.makeGauge(
            descriptor: Self.name("build_info", "The running agent's version and libcurl; always 1."),
            labels: [("version", AgentVersion.current), ("libcurl", CurlGlobal.version)]
        ).set(to: 1)
    }

    /// The engine's hooks into these metrics.
    public var probeObserver: ProbeEngine.Observer {
        ProbeEngine.Observer(
            started: { [startLag] lag in startLag.recordNanoseconds(Int64(clamping: lag)) },
            skipped: { [skippedInFlight, skippedBehind] reason, count in
                (reason == .inFlight ? skippedInFlight : skippedBehind).increment(by: Int64(count))
            })
    }

    /// Sets the level gauges and renders everything.
    func render(engine: ProbeStatistics, spool: SpoolStatistics?, outputs: [String: OutputHealth.Entry]) -> String {
        registry.makeGauge(descriptor: Self.name("probes_in_flight", "Probes running now.")).set(to: Double(engine.inFlight))
        if let spool {
            registry.makeGauge(descriptor: Self.name("spool", unit: "records", "Results in the spool.")).set(to: Double(spool.records))
            registry.makeGauge(descriptor: Self.name("spool", unit: "bytes", "Bytes the spool's results occupy.")).set(to: Double(spool.bytes))
            registry.makeGauge(descriptor: Self.name("spool_max", unit: "bytes", "spool.max_size.")).set(to: Double(spool.maxBytes))
            for reader in spool.readers {
                registry.makeGauge(
                    descriptor: Self.name("output_backlog", unit: "records", "Results written but not yet delivered by an output."),
                    labels: [("output", reader.name)]
                ).set(to: Double(reader.records))
                registry.makeGauge(
                    descriptor: Self.name("output_backlog", unit: "seconds", "Age of the oldest result an output has not delivered."),
                    labels: [("output", reader.name)]
                ).set(to: reader.seconds)
            }
        }
        for (name, entry) in outputs {
            guard let time = entry.lastSuccess else { continue }
            registry.makeGauge(
                descriptor: Self.name("output_last_success_timestamp", unit: "seconds", "When an output last delivered, Unix seconds."),
                labels: [("output", name)]
            ).set(to: Double(time) / 1e9)
        }
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        var text = String(decoding: bytes, as: UTF8.self)
        // Counters kept elsewhere (output health, the spool's persisted drops) are rendered from there.
        var failures = MetricFamily(
            name: "latency_agent_output_failures_total",
            help: "Delivery attempts an output's backend refused or did not answer.", kind: .counter)
        for name in outputs.keys.sorted() {
            failures.samples.append(.init(labels: [("output", name)], value: "\(outputs[name]!.failures)"))
        }
        var alertsFailed = MetricFamily(
            name: "latency_agent_alerts_failed_total",
            help: "Alert messages a receiver refused for good (not resent), by reason.", kind: .counter)
        for name in outputs.keys.sorted() where name.hasPrefix("slack:") {
            for (reason, count) in outputs[name]!.rejected.sorted(by: { $0.key < $1.key }) {
                alertsFailed.samples.append(.init(labels: [("receiver", String(name.dropFirst(6))), ("reason", reason)], value: "\(count)"))
            }
        }
        text += ExpositionWriter.render([failures, alertsFailed])
        if let spool {
            var dropped = MetricFamily(
                name: "latency_agent_spool_dropped_total",
                help: "Probe results lost before every output had them, by reason.", kind: .counter)
            for reason in Spool.dropReasons {
                dropped.samples.append(.init(labels: [("reason", reason)], value: "\(spool.dropped[reason] ?? 0)"))
            }
            text += ExpositionWriter.render([dropped])
        }
        return text
    }
}
