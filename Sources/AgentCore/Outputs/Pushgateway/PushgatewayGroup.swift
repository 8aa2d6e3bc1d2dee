import Logging

/// This node's group on the Pushgateway and the client that talks to it: the Pushgateway
/// reader's transport, and the `pushgateway delete` command's.
public struct PushgatewayGroup: Sendable {
    public let url: String
    public let key: GroupingKey
    private let base: String
    private let gzip: Bool
    private let client: OutputHTTPClient
    private let connection: ConnectionConfig
    private let scrubber: @Sendable () -> SecretScrubber
    private let logger: Logger

    public init(config: PushgatewayConfig, agent: AgentConfig, scrubber: @escaping @Sendable () -> SecretScrubber, logger: Logger) {
        self.key = GroupingKey(job: agent.job, nodeLabel: config.instanceLabel.nodeLabel)
        self.url = key.url(base: config.connection.url, node: agent.node)
        self.base = config.connection.url
        self.gzip = config.gzip
        self.client = OutputHTTPClient(name: "pushgateway", connection: config.connection, scrubber: scrubber)
        self.connection = config.connection
        self.scrubber = scrubber
        self.logger = logger
    }

    /// Replaces every metric of the group (PUT): series missing from `families` leave the gateway.
    public func replace(with families: [MetricFamily]) async -> Result<OutputResponse, TransportError> {
        var headers = [HTTPHeader(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")]
        var bytes = ExpositionWriter.render(families)
        if gzip, let compressed = Gzip.compress(bytes) {
            headers.append(HTTPHeader(name: "Content-Encoding", value: "gzip"))
            bytes = compressed
        }
        return await client.send(OutputRequest(method: "PUT", url: url, headers: headers, body: bytes))
    }

    /// The most of the gateway's listing read: it holds every group's metrics, since the gateway
    /// has no call that lists groups alone (about 1.2 KB per endpoint per node pushed).
    public static let listingLimit = 256 << 20

    /// This job's groups (every node's) as the gateway lists them.
    public func jobGroups() async -> Result<[StaleGroups.Group], StaleGroupsError> {
        var listing = base
        while listing.hasSuffix("/") { listing.removeLast() }
        let reader = OutputHTTPClient(
            name: "pushgateway", connection: connection, responseBodyLimit: Self.listingLimit, scrubber: scrubber)
        switch await reader.send(OutputRequest(method: "GET", url: listing + "/api/v1/metrics")) {
        case .success(let response) where (200..<300).contains(response.status) && response.body.utf8.count >= Self.listingLimit:
            return .failure(StaleGroupsError(
                "the pushgateway's listing is larger than \(Self.listingLimit >> 20) MiB; at this size use remote-write, "
                    + "or delete groups by name with pushgateway delete"))
        case .success(let response) where (200..<300).contains(response.status):
            return StaleGroups.groups(key, in: response.body)
        case .success(let response):
            return .failure(StaleGroupsError("the pushgateway answered \(response.summary) to GET /api/v1/metrics"))
        case .failure(let error):
            return .failure(StaleGroupsError("cannot reach the pushgateway: \(error)"))
        }
    }

    /// Removes the group, e.g. when retiring a node: the gateway never expires it by itself.
    /// - Parameter node: another node's group of the same job (pruning); nil: this node's.
    public func delete(node: String? = nil) async -> Result<OutputResponse, TransportError> {
        let target = node.map { key.url(base: base, node: $0) } ?? url
        let outcome = await client.send(OutputRequest(method: "DELETE", url: target))
        switch outcome {
        case .success(let response) where (200..<300).contains(response.status):
            logger.info("deleted this node's group from the pushgateway")
        case .success(let response):
            logger.error("pushgateway refused to delete the group", metadata: ["status": "\(response.status)"])
        case .failure(let error):
            logger.error("could not reach the pushgateway to delete the group", metadata: ["reason": "\(error)"])
        }
        return outcome
    }
}
