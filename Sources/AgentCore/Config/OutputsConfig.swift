/// Where the agent sends what it spooled. Every output is optional; with none, results stay in
/// the spool (and on standard output with `run --print-results`).
public struct OutputsConfig: Sendable, Equatable {
    public var pushgateway: PushgatewayConfig?

    public init(pushgateway: PushgatewayConfig? = nil) {
        self.pushgateway = pushgateway
    }

    /// The spool reader names of the enabled outputs: their cursors hold records back from deletion.
    public var readerNames: [String] {
        pushgateway == nil ? [] : [PushgatewayConfig.readerName]
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
