import Foundation

/// What one level of the config (the `defaults` block or one endpoint) says about probing.
///
/// Every field is optional so one parser serves both levels; `EndpointSettings.resolve` merges
/// endpoint over defaults over built-in values and checks the combination.
struct EndpointSettings {
    var method: String?
    var headers: [HTTPHeader] = []
    var body: String?
    var interval: (value: Duration, node: ConfigNode)?
    var timeout: (value: Duration, node: ConfigNode)?
    var expectedStatus: StatusCodeSet?
    var bodyMatch: BodyMatch?
    var latencyThreshold: Duration?
    var followRedirects: Bool?
    var maxRedirects: Int?
    var maxBodyBytes: Int?
    var tls: TLSOptions?
    var ipFamily: IPFamily?
    var connection: ConnectionMode?
    var authorization: Authorization?
    /// The `alerts` block: rule overrides, applied by the loader once the defaults are known.
    var alerts: ConfigNode?

    static let keys = [
        "method", "headers", "body", "interval", "timeout", "expected_status", "body_match", "latency_threshold",
        "follow_redirects", "max_redirects", "max_body_size", "tls", "ip_family", "connection", "bearer_token",
        "bearer_token_file", "basic_auth", "alerts",
    ]

    init() {}

    init(_ mapping: ConfigMapping) throws(ConfigError) {
        if let node = mapping["method"] {
            let method = try node.string().uppercased()
            guard !method.isEmpty, method.allSatisfy({ $0.isLetter && $0.isASCII }) else {
                throw node.error("\(node.path) must be an HTTP method such as GET, HEAD or POST")
            }
            self.method = method
        }
        if let node = mapping["headers"] {
            for (name, keyNode, value) in try node.stringMap() {
                guard !name.isEmpty, name.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != ":" }) else {
                    throw keyNode.error("header name \"\(name)\" in \(node.path) is not a valid HTTP header name")
                }
                guard !value.contains(where: \.isNewline) else {
                    throw keyNode.error("the value of header \"\(name)\" in \(node.path) contains a line break")
                }
                headers.append(HTTPHeader(name: name, value: value))
            }
        }
        body = try mapping["body"]?.string()
        if let node = mapping["interval"] { interval = (try node.positiveDuration(), node) }
        if let node = mapping["timeout"] { timeout = (try node.positiveDuration(), node) }
        if let node = mapping["expected_status"] { expectedStatus = try Self.statusCodes(node) }
        if let node = mapping["body_match"] { bodyMatch = try Self.bodyMatch(node) }
        latencyThreshold = try mapping["latency_threshold"]?.positiveDuration()
        followRedirects = try mapping["follow_redirects"]?.bool()
        maxRedirects = try mapping["max_redirects"]?.int(in: 0...50)
        if let node = mapping["max_body_size"] {
            let size = try node.byteSize()
            guard size > 0 else { throw node.error("\(node.path) must be larger than 0 bytes") }
            maxBodyBytes = size
        }
        if let node = mapping["tls"] { tls = try node.tlsOptions() }
        ipFamily = try mapping["ip_family"]?.choice([("any", .any), ("ipv4", .ipv4), ("ipv6", .ipv6)])
        connection = try mapping["connection"]?.choice([("cold", .cold), ("warm", .warm)])
        authorization = try mapping.authorization()
        alerts = mapping["alerts"]
    }

    /// Merges `self` (an endpoint) over `defaults` and built-in values, and checks the result.
    func resolve(name: String, url: String, over defaults: EndpointSettings, at node: ConfigNode)
        throws(ConfigError) -> EndpointConfig
    {
        let builtIn = EndpointConfig(name: name, url: url)
        var headers = defaults.headers.filter { header in
            !self.headers.contains { $0.name.lowercased() == header.name.lowercased() }
        }
        headers += self.headers
        let interval = self.interval ?? defaults.interval
        let timeout = self.timeout ?? defaults.timeout
        let intervalValue = interval?.value ?? builtIn.interval
        // Without a timeout anywhere, the default shrinks to fit a short interval.
        let timeoutValue = timeout?.value ?? min(builtIn.timeout, intervalValue)
        if timeoutValue > intervalValue {
            let culprit = self.timeout?.node ?? self.interval?.node ?? timeout?.node ?? interval?.node ?? node
            throw culprit.error(
                "endpoint \"\(name)\": timeout \(HumanUnits.format(timeoutValue)) is longer than its interval "
                    + "\(HumanUnits.format(intervalValue)); a probe must end before the next one is due")
        }
        return EndpointConfig(
            name: name, url: url, method: method ?? defaults.method ?? builtIn.method, headers: headers,
            body: body ?? defaults.body, interval: intervalValue, timeout: timeoutValue,
            expectedStatus: expectedStatus ?? defaults.expectedStatus ?? builtIn.expectedStatus,
            bodyMatch: bodyMatch ?? defaults.bodyMatch,
            latencyThreshold: latencyThreshold ?? defaults.latencyThreshold,
            redirects: RedirectPolicy(
                follow: followRedirects ?? defaults.followRedirects ?? builtIn.redirects.follow,
                maxHops: maxRedirects ?? defaults.maxRedirects ?? builtIn.redirects.maxHops),
            maxBodyBytes: maxBodyBytes ?? defaults.maxBodyBytes ?? builtIn.maxBodyBytes,
            tls: tls ?? defaults.tls ?? builtIn.tls, ipFamily: ipFamily ?? defaults.ipFamily ?? builtIn.ipFamily,
            connection: connection ?? defaults.connection ?? builtIn.connection,
            authorization: authorization ?? defaults.authorization)
    }

    private static func statusCodes(_ node: ConfigNode) throws(ConfigError) -> StatusCodeSet {
        let items = (try? node.sequence()) ?? [node]
        var ranges: [ClosedRange<Int>] = []
        for item in items {
            let text = try item.string()
            guard let range = StatusCodeSet.parseItem(text) else {
                throw item.error(
                    "\(item.path) must be a status code (200), a range (200-299) or a class (2xx) within 100-599, "
                        + "found \"\(text)\"")
            }
            ranges.append(range)
        }
        guard !ranges.isEmpty else { throw node.error("\(node.path) must list at least one status code") }
        return StatusCodeSet(ranges)
    }

    private static func bodyMatch(_ node: ConfigNode) throws(ConfigError) -> BodyMatch {
        let mapping = try node.mapping(allowed: ["contains", "regex"])
        switch (mapping["contains"], mapping["regex"]) {
        case (let contains?, nil):
            return .contains(try contains.string())
        case (nil, let regex?):
            let pattern = try regex.string()
            do {
                _ = try Regex(pattern)
            } catch {
                throw regex.error("\(regex.path) is not a valid regular expression: \(error)")
            }
            return .regex(pattern)
        default:
            throw node.error("\(node.path) needs exactly one of \"contains\" or \"regex\"")
        }
    }
}
