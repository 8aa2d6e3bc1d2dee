/// Where the agent sends what it spooled. Every output is optional; with none, results stay in
/// the spool (and on standard output with `run --print-results`).
public struct OutputsConfig: Sendable, Equatable {
    public var pushgateway: PushgatewayConfig?
    public var loki: LokiConfig?

    public init(pushgateway: PushgatewayConfig? = nil, loki: LokiConfig? = nil) {
        self.pushgateway = pushgateway
        self.loki = loki
    }

    /// The spool reader names of the enabled outputs: their cursors hold records back from deletion.
    public var readerNames: [String] {
        (pushgateway == nil ? [] : [PushgatewayConfig.readerName]) + (loki == nil ? [] : [LokiConfig.readerName])
    }
}

/// Grafana Loki's push API: one JSON log line per probe, in streams labelled job, instance and
/// endpoint (plus static labels), stamped with the probe's own start time.
public struct LokiConfig: Sendable, Equatable {
    public static let readerName = "loki"

    /// The full push URL, e.g. `http://loki:3100/loki/api/v1/push`, as Promtail takes it.
    public var connection: OutputConnection
    /// `X-Scope-OrgID`, for multi-tenant Loki.
    public var tenant: String?
    /// Extra stream labels, the same on every line (e.g. `cluster`). Keep them few and stable.
    public var labels: [(name: String, value: String)]
    /// A batch is sent when its lines reach this many bytes…
    public var batchSize: Int
    /// …or when its oldest line has waited this long.
    public var batchWait: Duration
    /// Catch-up pace, in line bytes per second: below Loki's default 4 MB/s tenant limit, so
    /// draining a backlog does not trip 429s.
    public var maxBytesPerSecond: Int
    public var gzip: Bool
    public var minBackoff: Duration
    public var maxBackoff: Duration

    public init(
        connection: OutputConnection, tenant: String? = nil, labels: [(name: String, value: String)] = [],
        batchSize: Int = 1 << 20, batchWait: Duration = .seconds(1), maxBytesPerSecond: Int = 2 << 20,
        gzip: Bool = true, minBackoff: Duration = .milliseconds(500), maxBackoff: Duration = .seconds(300)
    ) {
        self.connection = connection
        self.tenant = tenant
        self.labels = labels
        self.batchSize = batchSize
        self.batchWait = batchWait
        self.maxBytesPerSecond = maxBytesPerSecond
        self.gzip = gzip
        self.minBackoff = minBackoff
        self.maxBackoff = maxBackoff
    }

    public static func == (lhs: LokiConfig, rhs: LokiConfig) -> Bool {
        lhs.connection == rhs.connection && lhs.tenant == rhs.tenant && lhs.labels.map(\.name) == rhs.labels.map(\.name)
            && lhs.labels.map(\.value) == rhs.labels.map(\.value) && lhs.batchSize == rhs.batchSize
            && lhs.batchWait == rhs.batchWait && lhs.maxBytesPerSecond == rhs.maxBytesPerSecond && lhs.gzip == rhs.gzip
            && lhs.minBackoff == rhs.minBackoff && lhs.maxBackoff == rhs.maxBackoff
    }
}

/// An HTTP service an output talks to: its URL, credentials, TLS options and request timeout.
public struct OutputConnection: Sendable, Equatable, CustomStringConvertible {
    public var url: String
    public var timeout: Duration
    public var authorization: Authorization?
    public var tls: TLSOptions

    /// Printing a connection never shows credentials in its URL.
    public var description: String { "OutputConnection(\(URLRedaction.stripCredentials(url)))" }

    public init(url: String, timeout: Duration = .seconds(10), authorization: Authorization? = nil, tls: TLSOptions = .init()) {
        self.url = url
        self.timeout = timeout
        self.authorization = authorization
        self.tls = tls
    }
}

public struct PushgatewayConfig: Sendable, Equatable {
    public static let readerName = "pushgateway"
    /// Prometheus client defaults, stretched to 10 s for slow endpoints.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Coarser, because there are up to five phase histograms per endpoint and each series costs
    /// the gateway on every push.
    public static let defaultPhaseBuckets: [Double] = [0.001, 0.005, 0.025, 0.1, 0.5, 2.5]

    public var connection: OutputConnection
    /// Each push costs the gateway CPU for all series it holds, and it takes pushes one at a time.
    public var pushInterval: Duration
    /// Upper bounds of the latency histograms, in seconds.
    public var buckets: [Double]
    /// Upper bounds of the per-phase histograms; empty turns them off.
    public var phaseBuckets: [Double]
    /// `api_uptime_percent` covers the probes of this trailing window.
    public var uptimeWindow: Duration
    public var deleteOnShutdown: Bool
    /// Sends bodies with `Content-Encoding: gzip` (Pushgateway 1.5 and later).
    public var gzip: Bool

    public init(
        connection: OutputConnection, pushInterval: Duration = .seconds(15), buckets: [Double] = Self.defaultBuckets,
        phaseBuckets: [Double] = Self.defaultPhaseBuckets, uptimeWindow: Duration = .seconds(3600), deleteOnShutdown: Bool = false, gzip: Bool = false
    ) {
        self.gzip = gzip
        self.connection = connection
        self.pushInterval = pushInterval
        self.buckets = buckets
        self.phaseBuckets = phaseBuckets
        self.uptimeWindow = uptimeWindow
        self.deleteOnShutdown = deleteOnShutdown
    }
}
