import Synchronization

/// What each discovery source last did, for `/status` and the self-metrics: a source that keeps
/// failing must be visible, since its targets then silently stop following the cluster.
public final class DiscoveryStatus: Sendable {
    public struct Source: Sendable, Equatable {
        public var name: String
        public var kind: String
        public var lastRefresh: Timestamp?
        public var lastSuccess: Timestamp?
        public var targets = 0
        /// What went wrong in the last refresh; nil when it went well.
        public var lastError: String?
        public var refreshes: UInt64 = 0
        public var failures: UInt64 = 0
    }

    private let sources: Mutex<[Source]>

    init(_ config: DiscoveryConfig) {
        sources = Mutex(config.sources.map { Source(name: $0.name, kind: $0.kind.label) })
    }

    public var snapshot: [Source] { sources.withLock { $0 } }

    func record(source name: String, at time: Timestamp, targets: Int, problems: [String]) {
        sources.withLock { sources in
            guard let index = sources.firstIndex(where: { $0.name == name }) else { return }
            sources[index].lastRefresh = time
            sources[index].refreshes += 1
            sources[index].targets = targets
            if problems.isEmpty {
                sources[index].lastSuccess = time
                sources[index].lastError = nil
            } else {
                sources[index].failures += 1
                sources[index].lastError = problems.prefix(5).joined(separator: "; ") + (problems.count > 5 ? "; and \(problems.count - 5) more" : "")
            }
        }
    }

    func metricFamilies() -> [MetricFamily] {
        let sources = snapshot
        guard !sources.isEmpty else { return [] }
        func family(_ name: String, _ help: String, _ kind: MetricFamily.Kind, _ value: (Source) -> String) -> MetricFamily {
            MetricFamily(
                name: name, help: help, kind: kind,
                samples: sources.map { .init(labels: [("source", $0.name), ("kind", $0.kind)], value: value($0)) })
        }
        return [
            family("latency_agent_discovery_refreshes_total", "Refreshes of each discovery source.", .counter) { "\($0.refreshes)" },
            family(
                "latency_agent_discovery_refresh_failures_total", "Refreshes in which a part of the source (a file, a name) failed.",
                .counter) { "\($0.failures)" },
            family("latency_agent_discovery_targets", "Endpoints each source gives now.", .gauge) { "\($0.targets)" },
            family(
                "latency_agent_discovery_last_success_timestamp_seconds", "When each source last refreshed without a problem.", .gauge
            ) { $0.lastSuccess?.unixSecondsText ?? "0" },
        ]
    }
}

extension DiscoverySourceConfig.Kind {
    var label: String {
        switch self {
        case .files: "file_sd"
        case .dns: "dns_sd"
        case .mesh: "mesh"
        }
    }
}
