/// The whole configuration: who this agent is, where it keeps its spool, what it probes, where it
/// delivers, and how it alerts. Each section parses itself next to its type; this type checks
/// what spans sections.
public struct Configuration: Sendable, Equatable {
    public var agent: AgentConfig
    public var spool: SpoolConfig
    public var endpoints: [EndpointConfig] {
        didSet { scrubber = Self.scrubber(endpoints: endpoints, outputs: outputs, alerting: alerting) }
    }
    public var outputs: OutputsConfig {
        didSet { scrubber = Self.scrubber(endpoints: endpoints, outputs: outputs, alerting: alerting) }
    }
    /// The local HTTP server; nil turns it off. Both loaders turn it on unless told otherwise.
    public var server: ServerConfig?
    /// Where endpoints come from besides `endpoints`; the discovered ones join `endpoints` as
    /// they are found (`ConfigReloader` merges them).
    public var discovery: DiscoveryConfig = .init()
    /// Alert receivers and their timing; nil: no alerting.
    public var alerting: AlertingConfig? {
        didSet { scrubber = Self.scrubber(endpoints: endpoints, outputs: outputs, alerting: alerting) }
    }
    /// Every configured secret in the forms a backend may echo it: applied to everything that
    /// comes from outside before it is shown, logged or stored.
    public private(set) var scrubber: SecretScrubber
    /// The files this configuration was read from: the file itself, then the secrets and
    /// certificates it names. What a reload on change watches.
    public var sourceFiles: [String] = []

    public init(
        agent: AgentConfig, spool: SpoolConfig = .init(), endpoints: [EndpointConfig], outputs: OutputsConfig = .init(),
        server: ServerConfig? = nil, alerting: AlertingConfig? = nil
    ) {
        self.agent = agent
        self.spool = spool
        self.endpoints = endpoints
        self.outputs = outputs
        self.server = server
        self.alerting = alerting
        self.scrubber = Self.scrubber(endpoints: endpoints, outputs: outputs, alerting: alerting)
    }

    /// One agent probes at most this many endpoints; a larger list is refused with this limit
    /// named (split it over several agents, or give it more with file discovery per agent).
    public static let maxEndpoints = 50_000

    static let keys = ["agent", "spool", "defaults", "endpoints", "discovery", "outputs", "server", "alerting"]

    /// Reads a whole document.
    /// - Parameters:
    ///   - defaultNode: the node name when `agent.node` is not set (`NODE_NAME`, else the host name).
    ///   - slackWebhook: `SLACK_WEBHOOK_URL`, a receiver when the file names none.
    init(document root: ConfigNode, defaultNode: String, slackWebhook: Secret?) throws(ConfigError) {
        let top = try root.mapping(allowed: Self.keys)
        let agent = try AgentConfig(top["agent"], defaultNode: defaultNode)
        let spool = try SpoolConfig(top["spool"])
        let defaults = try top["defaults"].map { node throws(ConfigError) in
            try EndpointOverrides(node.mapping(allowed: EndpointOverrides.keys))
        } ?? EndpointOverrides()
        let alertingMapping = try top["alerting"]?.mapping(allowed: AlertingConfig.keys)
        let rules = try AlertingConfig.rules(alertingMapping)
        let server = try ServerConfig.parse(top["server"])
        let discovery = try top["discovery"].map { node throws(ConfigError) in
            try DiscoveryConfig(
                node, defaults: defaults, rules: rules, agent: agent, server: server, environment: root.context.environment ?? [:])
        } ?? DiscoveryConfig()
        let endpoints: [EndpointConfig]
        if let list = top["endpoints"] {
            endpoints = try Self.endpoints(list, defaults: defaults, rules: rules, agent: agent, discovered: !discovery.sources.isEmpty)
        } else if discovery.sources.isEmpty {
            throw root.error("the top level needs \"endpoints\" (or discovery sources that find them)")
        } else {
            endpoints = []
        }
        var alerting: AlertingConfig?
        if alertingMapping != nil || slackWebhook != nil {
            alerting = try AlertingConfig(alertingMapping, rules: rules, webhook: slackWebhook, endpoints: endpoints)
        }
        self.init(
            agent: agent, spool: spool, endpoints: endpoints, outputs: try OutputsConfig(top["outputs"]),
            server: server, alerting: alerting)
        self.discovery = discovery
    }

    private static func endpoints(
        _ list: ConfigNode, defaults: EndpointOverrides, rules: AlertRulesConfig, agent: AgentConfig, discovered: Bool
    ) throws(ConfigError) -> [EndpointConfig] {
        let items = try list.sequence()
        guard !items.isEmpty || discovered else { throw list.error("endpoints must list at least one endpoint") }
        guard items.count <= maxEndpoints else {
            throw list.error(
                "endpoints lists \(items.count) endpoints; one agent probes at most \(maxEndpoints). "
                    + "Split the list over several agents")
        }
        var endpoints: [EndpointConfig] = []
        endpoints.reserveCapacity(items.count)
        var namesSeen: [String: Int] = [:]
        for item in items {
            let mapping = try item.mapping(allowed: ["name", "url"] + EndpointOverrides.keys)
            let urlNode = try mapping.required("url")
            let url = try urlNode.probeURL()
            let nameNode = mapping["name"]
            let name = try nameNode?.nonEmptyString() ?? agent.display(url)
            if let line = namesSeen[name] {
                throw (nameNode ?? urlNode).error(
                    "endpoint name \"\(name)\" is already used by the endpoint at line \(line); names must be unique")
            }
            namesSeen[name] = item.node.mark?.line ?? 0
            endpoints.append(
                try EndpointOverrides(mapping).resolve(name: name, url: url, over: defaults, rules: rules, agent: agent, at: item))
        }
        return endpoints
    }

    private static func scrubber(endpoints: [EndpointConfig], outputs: OutputsConfig, alerting: AlertingConfig?) -> SecretScrubber {
        SecretScrubber(secrets: endpoints.flatMap(\.secrets) + outputs.secrets + (alerting?.secrets ?? []))
    }

    /// Each endpoint's labels by name: what the metric folds follow.
    public var labelsByEndpoint: [String: EndpointLabels] {
        Dictionary(endpoints.map { ($0.name, $0.labels) }, uniquingKeysWith: { first, _ in first })
    }

    // MARK: Readers

    /// Everything that reads results from the spool and holds them back from deletion.
    public var spoolReaders: [ReaderName] {
        outputs.readerNames + (alerting == nil ? [] : [.alertEvaluator])
    }

    /// The alert receivers, which read the outbox.
    public var receiverReaders: [ReaderName] { alerting?.receivers.map(\.readerName) ?? [] }
}
