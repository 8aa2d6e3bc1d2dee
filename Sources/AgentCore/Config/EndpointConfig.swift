import Foundation

/// Everything needed to probe one endpoint, fully resolved: defaults merged in, `${VAR}` expanded,
/// secret files read, alert rules settled. A value type, so a reload builds a new one and compares.
public struct EndpointConfig: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var url: String
    /// The URL as it may be shown or stored (no user-info, credential-like query values redacted).
    public var displayURL: String
    public var method: String
    /// Sent as given; values may hold credentials, so they are never logged or shown.
    public var headers: [HTTPHeader]
    public var body: String?
    public var interval: Duration
    public var timeout: Duration
    public var expectedStatus: StatusCodeSet
    public var bodyMatch: BodyMatch?
    public var conditions: ResponseConditions
    /// A probe slower than this counts as slow for alerting; nil means the alert default (1 s).
    public var latencyThreshold: Duration?
    public var redirects: RedirectPolicy
    public var maxBodyBytes: Int
    public var tls: TLSConfig
    public var ipFamily: IPFamily
    public var connection: ConnectionMode
    public var authorization: Authorization?
    public var proxy: ProxyConfig
    /// Carried into its series, `/status` and alert messages.
    public var labels: EndpointLabels
    /// `dns:` — what a `dns://` probe accepts.
    public var dns: DNSCheck
    /// `icmp:` — how an `icmp://` probe pings.
    public var icmp: ICMPOptions
    /// `tcp:` — TLS and the line dialogue of a `tcp://` (or `tls://`) probe.
    public var tcp: TCPOptions
    /// The alert rules of this endpoint: `alerting.rules`, then `defaults.alerts`, then its own
    /// `alerts`, with `latency_threshold` as the slow threshold.
    public var alertRules: AlertRulesConfig

    public init(
        name: String, url: String, displayURL: String? = nil, method: String = "GET", headers: [HTTPHeader] = [],
        body: String? = nil, interval: Duration = .seconds(30), timeout: Duration = .seconds(10),
        expectedStatus: StatusCodeSet = .success, bodyMatch: BodyMatch? = nil, conditions: ResponseConditions = .init(),
        latencyThreshold: Duration? = nil,
        redirects: RedirectPolicy = .init(), maxBodyBytes: Int = EndpointConfig.defaultMaxBodyBytes,
        tls: TLSConfig = .init(), ipFamily: IPFamily = .any, connection: ConnectionMode = .cold,
        authorization: Authorization? = nil, proxy: ProxyConfig = .direct, labels: EndpointLabels = .init(),
        dns: DNSCheck = .init(), icmp: ICMPOptions = .init(), tcp: TCPOptions = .init(), alertRules: AlertRulesConfig? = nil
    ) {
        self.name = name
        self.url = url
        self.displayURL = displayURL ?? URLRedaction.display(url)
        let kind = ProbeKind(url: url)
        self.method = kind == .http ? method : kind.method
        self.headers = headers
        self.body = body
        self.interval = interval
        self.timeout = timeout
        self.expectedStatus = expectedStatus
        self.bodyMatch = bodyMatch
        self.conditions = conditions
        self.latencyThreshold = latencyThreshold
        self.redirects = redirects
        self.maxBodyBytes = maxBodyBytes
        self.tls = tls
        self.ipFamily = ipFamily
        self.connection = connection
        self.authorization = authorization
        self.proxy = proxy
        self.labels = labels
        self.dns = dns
        self.icmp = icmp
        self.tcp = tcp
        var rules = alertRules ?? AlertRulesConfig()
        if let latencyThreshold { rules.slowAbove = latencyThreshold }
        self.alertRules = rules
    }

    public static let defaultMaxBodyBytes = 1024 * 1024

    public var kind: ProbeKind { ProbeKind(url: url) }

    /// Printing an endpoint never shows credentials (header values, URL user-info, tokens).
    public var description: String {
        "EndpointConfig(\(name): \(method) \(displayURL) every \(HumanUnits.format(interval)), "
            + "timeout \(HumanUnits.format(timeout)), \(connection.rawValue))"
    }

    /// The secrets this endpoint sends, for the scrubber.
    var secrets: [String] {
        var secrets = authorization?.secrets ?? []
        secrets += headers.filter(\.isSensitive).map(\.value)
        return secrets + URLRedaction.credentials(in: url) + proxy.secrets
    }
}

/// A request header. Its value may be a credential, so printing it shows only the name.
public struct HTTPHeader: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public var name: String
    public var value: String

    public var description: String { "\(name): <redacted>" }
    public var debugDescription: String { description }

    /// Read from a file (`{file: PATH}`): a secret whatever the header's name.
    public var fromFile: Bool

    public init(name: String, value: String, fromFile: Bool = false) {
        self.name = name
        self.value = value
        self.fromFile = fromFile
    }

    /// Whether the value is likely a credential (Authorization, Cookie, X-Api-Key, …), and so
    /// scrubbed from anything a backend sends back.
    var isSensitive: Bool {
        if fromFile { return true }
        let lower = name.lowercased()
        return ["auth", "token", "key", "secret", "password", "cookie", "session", "signature", "credential"]
            .contains { lower.contains($0) }
    }
}

public enum Authorization: Sendable, Equatable {
    case bearer(Secret)
    case basic(username: String, password: Secret)
    /// A token from an OAuth2 token endpoint (endpoints only), fetched by the probe engine.
    case oauth2(OAuth2Config)

    var secrets: [String] {
        switch self {
        case .bearer(let token): return [token.exposedValue]
        case .basic(let username, let password):
            return SecretScrubber.basicCredentials(username: username, password: password.exposedValue)
        case .oauth2(let config): return config.secrets
        }
    }

    /// The token endpoint's settings when the credentials are OAuth2 client credentials.
    var oauth2: OAuth2Config? {
        if case .oauth2(let config) = self { return config }
        return nil
    }
}

/// What the response body must contain for the probe to succeed.
public enum BodyMatch: Sendable, Equatable {
    case contains(String)
    /// A regular expression, validated when the config is loaded.
    case regex(String)
}

public struct RedirectPolicy: Sendable, Equatable {
    public var follow: Bool
    public var maxHops: Int

    public init(follow: Bool = true, maxHops: Int = 10) {
        self.follow = follow
        self.maxHops = maxHops
    }
}

/// The `tls` block shared by endpoints and outputs.
public struct TLSConfig: Sendable, Hashable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    /// Skips certificate and host name verification; opt-in only, for targets with private certificates.
    public var insecure: Bool

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecure: Bool = false) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecure = insecure
    }

    init(_ node: ConfigNode) throws(ConfigError) {
        let mapping = try node.mapping(allowed: ["ca_file", "cert_file", "key_file", "insecure"])
        self.init(
            caFile: try mapping["ca_file"]?.readableFile(), certFile: try mapping["cert_file"]?.readableFile(),
            keyFile: try mapping["key_file"]?.readableFile(), insecure: try mapping["insecure"]?.bool() ?? false)
        if keyFile != nil, certFile == nil {
            throw node.error("\(node.path) has a key_file but no cert_file; a client key needs its certificate")
        }
    }
}

public enum IPFamily: String, Sendable, Equatable {
    case any, ipv4, ipv6
}

/// Whether every probe pays for DNS, TCP and TLS again.
///
/// `cold` (default) matches blackbox_exporter: a fresh connection and lookup per probe, so the
/// phases measure what a new client sees. `warm` reuses connections like a pooled client (Gatus),
/// measuring mostly server time.
public enum ConnectionMode: String, Sendable, Equatable {
    case cold, warm
}

/// What one level of the config (the `defaults` block or one endpoint) says about probing.
///
/// Every field is optional so one parser serves both levels; `resolve` merges an endpoint over
/// the defaults over the built-in values (`EndpointConfig.init`'s) and checks the combination.
struct EndpointOverrides {
    var method: String?
    var headers: [HTTPHeader] = []
    var body: String?
    var interval: (value: Duration, node: ConfigNode)?
    var timeout: (value: Duration, node: ConfigNode)?
    var expectedStatus: StatusCodeSet?
    var bodyMatch: (value: BodyMatch, node: ConfigNode)?
    var conditions = ResponseConditions.Keys()
    var latencyThreshold: Duration?
    var followRedirects: Bool?
    var maxRedirects: Int?
    var maxBodyBytes: Int?
    var tls: TLSConfig?
    var ipFamily: IPFamily?
    var connection: ConnectionMode?
    var authorization: Authorization?
    /// Where the endpoint's own credentials are written, to name it when its kind has no HTTP.
    var authorizationNode: ConfigNode?
    var proxy: ProxyConfig?
    var labels = EndpointLabels()
    var dns: (value: DNSCheck, node: ConfigNode)?
    var icmp: (value: ICMPOptions, node: ConfigNode)?
    var tcp: (value: TCPOptions, node: ConfigNode)?
    /// The `alerts` block: rule overrides.
    var alerts: ConfigMapping?

    static let keys = [
        "method", "headers", "body", "body_file", "interval", "timeout", "expected_status", "body_match", "latency_threshold",
        "follow_redirects", "max_redirects", "max_body_size", "tls", "ip_family", "connection", "alerts", "labels", "dns", "icmp", "tcp", "oauth2",
    ] + ConfigMapping.authorizationKeys + ProxyConfig.keys + ResponseConditions.keys

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
            for (name, keyNode, valueNode) in try node.entries() {
                // `{file: PATH}`: the value is a mounted secret, re-read when the file changes.
                let fromFile = valueNode.isMapping
                let value = fromFile
                    ? try valueNode.mapping(allowed: ["file"]).required("file").secretFile().exposedValue
                    : try valueNode.string()
                guard !name.isEmpty, name.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != ":" }) else {
                    throw keyNode.error("header name \"\(name)\" in \(node.path) is not a valid HTTP header name")
                }
                guard !value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) else {
                    throw keyNode.error("the value of header \"\(name)\" in \(node.path) contains a line break or control character")
                }
                headers.append(HTTPHeader(name: name, value: value, fromFile: fromFile))
            }
        }
        body = try mapping["body"]?.string()
        if let node = mapping["body_file"] {
            guard body == nil else { throw node.error("\(node.path) and body exclude each other: give the body inline or in a file") }
            body = try node.textFile()
        }
        if let node = mapping["interval"] { interval = (try node.positiveDuration(), node) }
        if let node = mapping["timeout"] { timeout = (try node.positiveDuration(), node) }
        if let node = mapping["expected_status"] { expectedStatus = try StatusCodeSet(node) }
        if let node = mapping["body_match"] { bodyMatch = (try Self.bodyMatch(node), node) }
        conditions = try ResponseConditions.parse(mapping)
        latencyThreshold = try mapping["latency_threshold"]?.positiveDuration()
        followRedirects = try mapping["follow_redirects"]?.bool()
        maxRedirects = try mapping["max_redirects"]?.int(in: 0...50)
        if let node = mapping["max_body_size"] {
            let size = try node.byteSize()
            guard size > 0 else { throw node.error("\(node.path) must be larger than 0 bytes") }
            maxBodyBytes = size
        }
        if let node = mapping["tls"] { tls = try TLSConfig(node) }
        ipFamily = try mapping["ip_family"]?.choice([("any", .any), ("ipv4", .ipv4), ("ipv6", .ipv6)])
        connection = try mapping["connection"]?.choice([("cold", .cold), ("warm", .warm)])
        authorization = try mapping.authorization()
        if let node = mapping["oauth2"] {
            guard authorization == nil else {
                throw node.error("\(node.path) and \(mapping.node.name)'s other credentials exclude each other; choose one way to authenticate")
            }
            authorization = .oauth2(try OAuth2Config(node))
        }
        authorizationNode = (ConfigMapping.authorizationKeys + ["oauth2"]).lazy.compactMap { mapping[$0] }.first
        proxy = try ProxyConfig.parse(mapping)
        alerts = try mapping["alerts"]?.mapping(allowed: AlertRulesConfig.keys)
        labels = try mapping["labels"]?.endpointLabels() ?? EndpointLabels()
        if let node = mapping["dns"] { dns = (try DNSCheck(node), node) }
        if let node = mapping["icmp"] { icmp = (try ICMPOptions(node), node) }
        if let node = mapping["tcp"] { tcp = (try TCPOptions(node), node) }
    }

    /// Merges `self` (an endpoint) over `defaults` and built-in values, and checks the result.
    func resolve(
        name: String, url: String, over defaults: EndpointOverrides, rules: AlertRulesConfig, agent: AgentConfig,
        at node: ConfigNode
    ) throws(ConfigError) -> EndpointConfig {
        let builtIn = EndpointConfig(name: name, url: url)
        var headers = defaults.headers.filter { header in
            !self.headers.contains { $0.name.lowercased() == header.name.lowercased() }
        }
        headers += self.headers
        let interval = self.interval ?? defaults.interval
        let timeout = self.timeout ?? defaults.timeout
        let intervalValue = interval?.value ?? builtIn.interval
        if intervalValue < agent.minInterval {
            let culprit = interval?.node ?? node
            throw culprit.error(
                "endpoint \"\(name)\": interval \(HumanUnits.format(intervalValue)) is shorter than agent.min_interval "
                    + "(\(HumanUnits.format(agent.minInterval)))\(Self.typoHint(intervalValue)); to probe this often on purpose, "
                    + "set agent.min_interval: \(HumanUnits.format(intervalValue))")
        }
        // Without a timeout anywhere, the default shrinks to fit a short interval.
        let timeoutValue = timeout?.value ?? min(builtIn.timeout, intervalValue)
        if timeoutValue > intervalValue {
            let culprit = self.timeout?.node ?? self.interval?.node ?? timeout?.node ?? interval?.node ?? node
            throw culprit.error(
                "endpoint \"\(name)\": timeout \(HumanUnits.format(timeoutValue)) is longer than its interval "
                    + "\(HumanUnits.format(intervalValue)); a probe must end before the next one is due")
        }
        let kind = ProbeKind(url: url)
        // An endpoint's own kind block must fit its URL; the defaults' apply to the endpoints of their kind.
        if let dns, kind != .dns { throw dns.node.error("endpoint \"\(name)\": \(dns.node.path) applies only to dns:// endpoints") }
        if let icmp, kind != .icmp { throw icmp.node.error("endpoint \"\(name)\": \(icmp.node.path) applies only to icmp:// endpoints") }
        if let bodyMatch, kind != .http {
            throw bodyMatch.node.error(
                "endpoint \"\(name)\": \(bodyMatch.node.path) checks an HTTP body, which a \(kind.rawValue) probe does not have")
        }
        if let tcp, kind != .tcp, kind != .tls {
            throw tcp.node.error("endpoint \"\(name)\": \(tcp.node.path) applies only to tcp:// and tls:// endpoints")
        }
        let speaksHTTP = kind == .http || kind == .grpc
        if let authorizationNode, !speaksHTTP {
            throw authorizationNode.error(
                "endpoint \"\(name)\": \(authorizationNode.path) sends credentials in HTTP, which a \(kind.rawValue) probe does not "
                    + "speak; it applies to http(s):// and grpc(s):// endpoints")
        }
        let icmpOptions = icmp?.value ?? defaults.icmp?.value ?? ICMPOptions()
        if kind == .icmp, icmpOptions.packetInterval * (icmpOptions.packets - 1) >= timeoutValue {
            throw (icmp?.node ?? node).error(
                "endpoint \"\(name)\": \(icmpOptions.packets) packets \(HumanUnits.format(icmpOptions.packetInterval)) apart do not fit "
                    + "in its timeout \(HumanUnits.format(timeoutValue)); send fewer or closer packets, or raise the timeout")
        }
        let labels = defaults.labels.merging(self.labels)
        if let problem = EndpointLabels.problem(labels.dictionary) { throw node.error("endpoint \"\(name)\" has \(problem)") }
        var endpointRules = rules
        if let alerts = defaults.alerts { endpointRules = try endpointRules.overridden(by: alerts) }
        if let alerts { endpointRules = try endpointRules.overridden(by: alerts) }
        return EndpointConfig(
            name: name, url: url, displayURL: agent.display(url), method: method ?? defaults.method ?? builtIn.method,
            headers: headers, body: body ?? defaults.body, interval: intervalValue, timeout: timeoutValue,
            expectedStatus: expectedStatus ?? defaults.expectedStatus ?? builtIn.expectedStatus,
            bodyMatch: kind == .http ? bodyMatch?.value ?? defaults.bodyMatch?.value : nil,
            conditions: try conditions.over(defaults.conditions, for: kind, endpoint: name),
            latencyThreshold: latencyThreshold ?? defaults.latencyThreshold,
            redirects: RedirectPolicy(
                follow: followRedirects ?? defaults.followRedirects ?? builtIn.redirects.follow,
                maxHops: maxRedirects ?? defaults.maxRedirects ?? builtIn.redirects.maxHops),
            maxBodyBytes: maxBodyBytes ?? defaults.maxBodyBytes ?? builtIn.maxBodyBytes,
            tls: tls ?? defaults.tls ?? builtIn.tls, ipFamily: ipFamily ?? defaults.ipFamily ?? builtIn.ipFamily,
            connection: connection ?? defaults.connection ?? builtIn.connection,
            authorization: speaksHTTP ? authorization ?? defaults.authorization : nil, proxy: proxy ?? defaults.proxy ?? builtIn.proxy,
            labels: labels, dns: dns?.value ?? defaults.dns?.value ?? DNSCheck(), icmp: icmpOptions,
            tcp: kind == .tcp || kind == .tls ? tcp?.value ?? defaults.tcp?.value ?? TCPOptions() : TCPOptions(),
            alertRules: endpointRules)
    }

    /// `1ms` is nearly always `1m`, `10ms` `10m`…: say so.
    private static func typoHint(_ interval: Duration) -> String {
        let nanoseconds = interval.inNanoseconds
        guard nanoseconds % 1_000_000 == 0 else { return "" }
        return " (did you mean \(nanoseconds / 1_000_000)m?)"
    }

    private static func bodyMatch(_ node: ConfigNode) throws(ConfigError) -> BodyMatch {
        let mapping = try node.mapping(allowed: ["contains", "regex"])
        switch (mapping["contains"], mapping["regex"]) {
        case (let contains?, nil):
            return .contains(try contains.string())
        case (nil, let regex?):
            return .regex(try regex.regexPattern())
        default:
            throw node.error("\(node.path) needs exactly one of \"contains\" or \"regex\"")
        }
    }
}
