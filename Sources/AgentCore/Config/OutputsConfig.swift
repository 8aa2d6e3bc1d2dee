/// The `outputs` section. Every output is optional; with none, results stay in the spool (and on
/// standard output with `run --print-results`).
public struct OutputsConfig: Sendable, Equatable {
    public var pushgateway: PushgatewayConfig?
    public var loki: LokiConfig?

    public init(pushgateway: PushgatewayConfig? = nil, loki: LokiConfig? = nil) {
        self.pushgateway = pushgateway
        self.loki = loki
    }

    init(_ node: ConfigNode?) throws(ConfigError) {
        self.init()
        guard let node else { return }
        let mapping = try node.mapping(allowed: ["pushgateway", "loki"])
        pushgateway = try mapping["pushgateway"].map { node throws(ConfigError) in try PushgatewayConfig(node) }
        loki = try mapping["loki"].map { node throws(ConfigError) in try LokiConfig(node) }
    }

    /// The spool readers of the enabled outputs: their cursors hold records back from deletion.
    public var readerNames: [ReaderName] {
        (pushgateway == nil ? [] : [.pushgateway]) + (loki == nil ? [] : [.loki])
    }

    var secrets: [String] { [pushgateway?.connection, loki?.connection].compactMap { $0 }.flatMap(\.secrets) }
}

/// An HTTP service an output talks to: its URL, credentials, TLS options and request timeout.
public struct ConnectionConfig: Sendable, Equatable, CustomStringConvertible {
    public var url: String
    public var timeout: Duration
    public var authorization: Authorization?
    public var tls: TLSConfig

    /// Printing a connection never shows credentials in its URL.
    public var description: String { "ConnectionConfig(\(URLRedaction.display(url)))" }

    public init(url: String, timeout: Duration = .seconds(10), authorization: Authorization? = nil, tls: TLSConfig = .init()) {
        self.url = url
        self.timeout = timeout
        self.authorization = authorization
        self.tls = tls
    }

    static let keys = ["url", "timeout", "tls"] + ConfigMapping.authorizationKeys

    /// The keys every HTTP output shares: `url`, `timeout`, `tls` and credentials.
    init(_ mapping: ConfigMapping) throws(ConfigError) {
        self.init(
            url: try mapping.required("url").url(),
            timeout: try mapping["timeout"]?.positiveDuration() ?? .seconds(10),
            authorization: try mapping.authorization(), tls: try mapping["tls"].map { node throws(ConfigError) in try TLSConfig(node) } ?? TLSConfig())
    }

    var secrets: [String] { (authorization?.secrets ?? []) + URLRedaction.credentials(in: url) }
}

/// Prometheus Pushgateway: the cumulative metrics of this node's probes, PUT to its group.
public struct PushgatewayConfig: Sendable, Equatable {
    /// Prometheus client defaults, stretched to 10 s for slow endpoints.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Coarser, because there are up to five phase histograms per endpoint and each series costs
    /// the gateway on every push.
    public static let defaultPhaseBuckets: [Double] = [0.001, 0.005, 0.025, 0.1, 0.5, 2.5]

    public var connection: ConnectionConfig
    /// Each push costs the gateway CPU for all series it holds, and it takes pushes one at a time.
    public var pushInterval: Duration = .seconds(15)
    /// Upper bounds of the latency histograms, in seconds.
    public var buckets: [Double] = PushgatewayConfig.defaultBuckets
    /// Upper bounds of the per-phase histograms; empty turns them off.
    public var phaseBuckets: [Double] = PushgatewayConfig.defaultPhaseBuckets
    /// `api_uptime_percent` covers the probes of this trailing window.
    public var uptimeWindow: Duration = .seconds(3600)
    public var deleteOnShutdown = false
    /// Sends bodies with `Content-Encoding: gzip` (Pushgateway 1.5 and later).
    public var gzip = false
    /// What the series' `instance` label names.
    public var instanceLabel = InstanceLabel.node

    public enum InstanceLabel: Sendable, Equatable {
        /// This node (the grouping key's `instance`): one agent is one instance, as it is to Prometheus.
        case node
        /// The probed target, as a blackbox_exporter scrape labels it (the URL for HTTP,
        /// `host:port` or the host otherwise), with the node in the grouping key's `node` label,
        /// so blackbox dashboards (which filter `instance=~"$target"`) read the series unchanged.
        case target

        /// The grouping-key label that names the node.
        var nodeLabel: String { self == .target ? "node" : "instance" }
    }

    public init(connection: ConnectionConfig, pushInterval: Duration = .seconds(15), deleteOnShutdown: Bool = false, gzip: Bool = false) {
        self.connection = connection
        self.pushInterval = pushInterval
        self.deleteOnShutdown = deleteOnShutdown
        self.gzip = gzip
    }

    init(_ node: ConfigNode) throws(ConfigError) {
        let mapping = try node.mapping(
            allowed: ConnectionConfig.keys + [
                "push_interval", "buckets", "uptime_window", "delete_on_shutdown", "gzip", "phase_buckets", "instance_label",
            ])
        self.init(connection: try ConnectionConfig(mapping))
        if let interval = try mapping["push_interval"]?.positiveDuration() { pushInterval = interval }
        if let window = try mapping["uptime_window"]?.positiveDuration() { uptimeWindow = window }
        if let delete = try mapping["delete_on_shutdown"]?.bool() { deleteOnShutdown = delete }
        if let gzip = try mapping["gzip"]?.bool() { self.gzip = gzip }
        if let label = try mapping["instance_label"]?.choice([("node", InstanceLabel.node), ("target", .target)]) { instanceLabel = label }
        if let node = mapping["buckets"] {
            buckets = try node.buckets()
            guard !buckets.isEmpty else { throw node.error("\(node.path) must list at least one bucket") }
        }
        if let node = mapping["phase_buckets"] { phaseBuckets = try node.buckets() }
    }
}

/// Grafana Loki's push API: one JSON log line per probe, in streams labelled job, instance and
/// endpoint (plus static labels), stamped with the probe's own start time.
public struct LokiConfig: Sendable, Equatable {
    /// The full push URL, e.g. `http://loki:3100/loki/api/v1/push`, as Promtail takes it.
    public var connection: ConnectionConfig
    /// `X-Scope-OrgID`, for multi-tenant Loki.
    public var tenant: String?
    /// Extra stream labels, the same on every line (e.g. `cluster`). Keep them few and stable.
    public var labels: [StreamLabel] = []
    /// Endpoint labels copied into each endpoint's stream (`[team]`), only those named: every
    /// one counts against Loki's 15 labels per stream and is indexed, so they are opt-in.
    public var endpointLabels: [String] = []
    /// A batch is sent when its lines reach this many bytes…
    public var batchSize = 1 << 20
    /// …or when its oldest line has waited this long.
    public var batchWait: Duration = .seconds(1)
    /// Catch-up pace, in line bytes per second: below Loki's default 4 MB/s tenant limit, so
    /// draining a backlog does not trip 429s.
    public var maxBytesPerSecond = 2 << 20
    public var gzip = true
    /// Backoff after a failed push: from `minBackoff`, doubling, to `maxBackoff`. The cap bounds how
    /// long after Loki's return the lines start flowing again.
    public var minBackoff: Duration = .milliseconds(500)
    public var maxBackoff: Duration = .seconds(5)

    public struct StreamLabel: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(connection: ConnectionConfig, tenant: String? = nil, labels: [StreamLabel] = [], batchWait: Duration = .seconds(1)) {
        self.connection = connection
        self.tenant = tenant
        self.labels = labels
        self.batchWait = batchWait
    }

    public var retry: RetryPolicy { RetryPolicy(initial: minBackoff, maximum: maxBackoff) }

    init(_ node: ConfigNode) throws(ConfigError) {
        let mapping = try node.mapping(
            allowed: ConnectionConfig.keys + [
                "tenant", "labels", "endpoint_labels", "batch_size", "batch_wait", "max_bytes_per_second", "gzip", "min_backoff", "max_backoff",
            ])
        self.init(connection: try ConnectionConfig(mapping))
        tenant = try mapping["tenant"]?.string()
        if let labels = mapping["labels"] {
            for (name, keyNode, value) in try labels.stringMap() {
                guard LokiLabels.isValidName(name), !LokiLabels.reserved.contains(name) else {
                    throw keyNode.error(
                        "label \"\(name)\" in \(labels.path) must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, "
                            + "and not be one of \(LokiLabels.reserved.joined(separator: ", ")) (the agent sets those)")
                }
                guard !value.isEmpty, value.utf8.count <= 2048 else {
                    throw keyNode.error("the value of label \"\(name)\" must have 1 to 2048 bytes")
                }
                self.labels.append(StreamLabel(name: name, value: value))
            }
            guard self.labels.count + LokiLabels.reserved.count <= 15 else {
                throw labels.error("Loki accepts at most 15 labels per stream; \(labels.path) may add at most 12")
            }
        }
        if let list = mapping["endpoint_labels"] {
            for item in try list.sequence() {
                let name = try item.nonEmptyString()
                if let problem = EndpointLabels.problem(name: name, value: "") { throw item.error("\(item.path): \(problem)") }
                guard !labels.contains(where: { $0.name == name }), !endpointLabels.contains(name) else {
                    throw item.error("\(item.path): label \"\(name)\" is already a stream label")
                }
                endpointLabels.append(name)
            }
        }
        guard labels.count + endpointLabels.count + LokiLabels.reserved.count <= 15 else {
            throw node.error(
                "Loki accepts at most 15 labels per stream; outputs.loki.labels and endpoint_labels may add at most "
                    + "\(15 - LokiLabels.reserved.count) together")
        }
        if let node = mapping["batch_size"] {
            let size = try node.byteSize()
            guard (1024...(4 << 20)).contains(size) else {
                throw node.error("outputs.loki.batch_size must be between 1KiB and 4MiB (Loki's request limit)")
            }
            batchSize = size
        }
        if let wait = try mapping["batch_wait"]?.positiveDuration() { batchWait = wait }
        if let node = mapping["max_bytes_per_second"] {
            let rate = try node.byteSize()
            guard rate >= 1024 else { throw node.error("outputs.loki.max_bytes_per_second must be at least 1KiB") }
            maxBytesPerSecond = rate
        }
        if let gzip = try mapping["gzip"]?.bool() { self.gzip = gzip }
        if let minimum = try mapping["min_backoff"]?.positiveDuration() { minBackoff = minimum }
        if let maximum = try mapping["max_backoff"]?.positiveDuration() { maxBackoff = maximum }
        if maxBackoff < minBackoff {
            throw (mapping["max_backoff"] ?? node).error("outputs.loki.max_backoff must not be shorter than min_backoff")
        }
    }
}

extension ConfigNode {
    /// Histogram bounds in seconds: positive and increasing.
    func buckets() throws(ConfigError) -> [Double] {
        var buckets: [Double] = []
        for item in try sequence() {
            let text = try item.string()
            guard let value = Double(text), value > 0, value.isFinite, value > (buckets.last ?? 0) else {
                throw item.error("\(item.path) must be a number of seconds above 0 and above the bucket before it, found \"\(text)\"")
            }
            buckets.append(value)
        }
        return buckets
    }
}
