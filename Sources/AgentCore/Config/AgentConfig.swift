/// The whole agent configuration: who this agent is, where it keeps its spool, and what it probes.
public struct AgentConfig: Sendable, Equatable {
    public var agent: AgentSettings
    public var spool: SpoolSettings
    public var endpoints: [EndpointConfig]
    /// The seed's `SLACK_WEBHOOK_URL`, kept for alert delivery.
    public var slackWebhookURL: Secret?

    public init(
        agent: AgentSettings, spool: SpoolSettings = .init(), endpoints: [EndpointConfig],
        slackWebhookURL: Secret? = nil
    ) {
        self.agent = agent
        self.spool = spool
        self.endpoints = endpoints
        self.slackWebhookURL = slackWebhookURL
    }
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
    public var maxSize: Int

    public init(path: String = "/var/lib/latency-agent/spool", maxSize: Int = 512 * 1024 * 1024) {
        self.path = path
        self.maxSize = maxSize
    }
}
