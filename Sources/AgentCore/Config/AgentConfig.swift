/// The `agent` section: who this agent is, and the guards it applies to the rest of the file.
public struct AgentConfig: Sendable, Equatable {
    /// This vantage point's name: the `instance` of every pushed group and log stream.
    public var node: String
    public var job: String = "latency-agent"
    /// Intervals shorter than this are refused: `interval: 1ms` is nearly always a typo for `1m`
    /// and would fire thousands of probes a second.
    public var minInterval: Duration = .seconds(1)
    /// Query parameters whose values are shown as `<redacted>` wherever a URL is shown or stored.
    public var redactedQueryParameters: [String] = URLRedaction.defaultParameters
    /// Reload when the configuration file or a file it reads changes (a ConfigMap or Secret
    /// update included), as SIGHUP does. On by default: an edited ConfigMap should reach every
    /// node without a rollout.
    public var reloadOnChange = true

    public init(node: String, job: String = "latency-agent") {
        self.node = node
        self.job = job
    }

    static let keys = ["node", "job", "min_interval", "redact_query_params", "reload_on_change"]

    init(_ node: ConfigNode?, defaultNode: String) throws(ConfigError) {
        self.init(node: defaultNode)
        guard let node else { return }
        let mapping = try node.mapping(allowed: Self.keys)
        if let name = try mapping["node"]?.nonEmptyString() { self.node = name }
        if let job = try mapping["job"]?.nonEmptyString() { self.job = job }
        if let minimum = try mapping["min_interval"]?.positiveDuration() { minInterval = minimum }
        if let reload = try mapping["reload_on_change"]?.bool() { reloadOnChange = reload }
        if let list = mapping["redact_query_params"] {
            redactedQueryParameters = try list.sequence().map { item throws(ConfigError) in try item.nonEmptyString() }
        }
    }

    /// The form of `url` that may be shown or stored.
    public func display(_ url: String) -> String {
        URLRedaction.display(url, redacting: redactedQueryParameters)
    }
}

/// The `spool` section: where results are kept and how much of them.
public struct SpoolConfig: Sendable, Equatable {
    public var path = "/var/lib/latency-agent/spool"
    /// The LMDB map size: the most disk the spool may use.
    public var maxSize = 512 * 1024 * 1024
    /// How long records stay after every reader has handled them: the history `/status` and
    /// alert windows are rebuilt from, and how long a removed endpoint's counters are kept.
    public var retain: Duration = .seconds(3600)
    /// While the disk refuses writes, results wait in memory up to this many bytes (about 100,000
    /// results at the default); older ones beyond it are dropped and counted as `write_error`.
    public var maxPending = 16 << 20

    public init(
        path: String = "/var/lib/latency-agent/spool", maxSize: Int = 512 * 1024 * 1024, retain: Duration = .seconds(3600),
        maxPending: Int = 16 << 20
    ) {
        self.path = path
        self.maxSize = maxSize
        self.retain = retain
        self.maxPending = maxPending
    }

    init(_ node: ConfigNode?) throws(ConfigError) {
        self.init()
        guard let node else { return }
        let mapping = try node.mapping(allowed: ["path", "max_size", "retain", "max_pending"])
        if let path = try mapping["path"]?.nonEmptyString() { self.path = path }
        if let sizeNode = mapping["max_size"] {
            let size = try sizeNode.byteSize()
            guard size >= 1024 * 1024 else { throw sizeNode.error("spool.max_size must be at least 1MiB") }
            maxSize = size
        }
        if let retain = try mapping["retain"]?.positiveDuration() { self.retain = retain }
        if let pendingNode = mapping["max_pending"] {
            let pending = try pendingNode.byteSize()
            guard pending >= 16 * 1024 else { throw pendingNode.error("spool.max_pending must be at least 16KiB") }
            maxPending = pending
        }
    }
}

/// The `server` section: where `/health`, `/ready`, `/status` and `/metrics` are served.
public struct ServerConfig: Sendable, Equatable {
    /// 9473 is used by no common exporter (Pushgateway 9091, node_exporter 9100, graphite
    /// 9108–9109, blackbox 9115).
    public static let defaultPort = 9473

    /// An IP address (`0.0.0.0`, `127.0.0.1`, `::`) or `localhost`.
    public var address = "0.0.0.0"
    /// 0 picks a free port (tests).
    public var port = ServerConfig.defaultPort
    /// `POST /-/reload`, off unless asked for (like Prometheus' `--web.enable-lifecycle`): the
    /// server listens on every address and has no authentication. SIGHUP always works.
    public var enableReload = false
    /// Connections beyond this make the server close its longest-idle connection, so idle clients
    /// can never lock `/health` out or take the prober's sockets.
    public var maxConnections = 64
    /// A connection that has sent nothing for this long is closed; so is one whose request head
    /// has not arrived in full by then.
    public var idleTimeout: Duration = .seconds(10)

    public init(address: String = "0.0.0.0", port: Int = ServerConfig.defaultPort, enableReload: Bool = false) {
        self.address = address
        self.port = port
        self.enableReload = enableReload
    }

    /// Where a process on the same host reaches this server: the wildcard addresses become
    /// loopback, IPv6 literals get brackets. What the container's health check calls.
    public func localURL(path: String) -> String {
        let host: String
        switch address {
        case "0.0.0.0", "": host = "127.0.0.1"
        case "::": host = "[::1]"
        case let literal where literal.contains(":"): host = "[\(literal)]"
        default: host = address
        }
        return "http://\(host):\(port)\(path)"
    }

    /// nil when the section says `enabled: false`.
    static func parse(_ node: ConfigNode?) throws(ConfigError) -> ServerConfig? {
        var config = ServerConfig()
        guard let node else { return config }
        let mapping = try node.mapping(
            allowed: ["enabled", "address", "port", "enable_reload", "max_connections", "idle_timeout"])
        if try mapping["enabled"]?.bool() == false { return nil }
        if let addressNode = mapping["address"] {
            let address = try addressNode.string()
            guard address == "localhost" || IPAddress.isLiteral(address) else {
                throw addressNode.error(
                    "server.address must be an IP address such as 0.0.0.0 (every address), 127.0.0.1 or ::, or localhost; "
                        + "found \"\(address)\"")
            }
            config.address = address
        }
        if let port = try mapping["port"]?.int(in: 0...65535) { config.port = port }
        if let enable = try mapping["enable_reload"]?.bool() { config.enableReload = enable }
        if let connections = try mapping["max_connections"]?.int(in: 4...10_000) { config.maxConnections = connections }
        if let timeout = try mapping["idle_timeout"]?.positiveDuration() { config.idleTimeout = timeout }
        return config
    }
}

extension ConfigNode {
    func nonEmptyString() throws(ConfigError) -> String {
        let text = try string()
        guard !text.isEmpty else { throw error("\(path) must not be empty") }
        return text
    }
}
