/// The whole agent configuration: who this agent is, where it keeps its spool, and what it probes.
public struct AgentConfig: Sendable, Equatable {
    public var agent: AgentSettings
    public var spool: SpoolSettings
    public var endpoints: [EndpointConfig]
    public var outputs: OutputsConfig
    /// Alert rules and receivers; nil: no alerting.
    public var alerting: AlertingConfig?
    /// The local HTTP server; nil turns it off. Both loaders turn it on unless told otherwise.
    public var server: ServerSettings?

    public init(
        agent: AgentSettings, spool: SpoolSettings = .init(), endpoints: [EndpointConfig],
        outputs: OutputsConfig = .init(), server: ServerSettings? = nil, alerting: AlertingConfig? = nil
    ) {
        self.alerting = alerting
        self.server = server
        self.agent = agent
        self.spool = spool
        self.endpoints = endpoints
        self.outputs = outputs
    }
}

extension AgentConfig {
    /// Everything that reads results from the spool: the outputs and the alert evaluator.
    public var spoolReaders: [String] {
        outputs.readerNames + (alerting == nil ? [] : [AlertingConfig.readerName])
    }

    /// The alert receivers, which read the outbox.
    public var outboxReaders: [String] { alerting?.receivers.map(\.readerName) ?? [] }
}

public struct AgentSettings: Sendable, Equatable {
    /// This vantage point's name: the `instance` of every pushed group and log stream.
    public var node: String
    public var job: String

    public init(node: String, job: String = "latency-agent") {
        self.node = node
        self.job = job
    }
}

public struct SpoolSettings: Sendable, Equatable {
    public var path: String
    /// The LMDB map size: the most disk the spool may use.
    public var maxSize: Int
    /// How long records stay after every reader has handled them: the history `/status` and
    /// alert windows are rebuilt from.
    public var retain: Duration

    public init(path: String = "/var/lib/latency-agent/spool", maxSize: Int = 512 * 1024 * 1024, retain: Duration = .seconds(3600)) {
        self.path = path
        self.maxSize = maxSize
        self.retain = retain
    }
}

/// Where `/health`, `/ready`, `/status` and `/metrics` are served.
public struct ServerSettings: Sendable, Equatable {
    /// 9473 is used by no common exporter (Pushgateway 9091, node_exporter 9100, graphite
    /// 9108–9109, blackbox 9115).
    public static let defaultPort = 9473

    public var address: String
    /// 0 picks a free port (tests).
    public var port: Int

    public init(address: String = "0.0.0.0", port: Int = ServerSettings.defaultPort) {
        self.address = address
        self.port = port
    }
}
