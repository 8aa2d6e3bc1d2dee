/// Everything needed to probe one endpoint, fully resolved: defaults merged in, `${VAR}` expanded,
/// secret files read. A value type, so a reload builds a new one and compares.
public struct EndpointConfig: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var url: String
    public var method: String
    /// Sent as given; values may hold credentials, so they are never logged or shown.
    public var headers: [HTTPHeader]
    public var body: String?
    public var interval: Duration
    public var timeout: Duration
    public var expectedStatus: StatusCodeSet
    public var bodyMatch: BodyMatch?
    /// A probe slower than this counts as a latency breach for alerting; nil means no threshold.
    public var latencyThreshold: Duration?
    public var redirects: RedirectPolicy
    public var maxBodyBytes: Int
    public var tls: TLSOptions
    public var ipFamily: IPFamily
    public var connection: ConnectionMode
    public var authorization: Authorization?

    public init(
        name: String, url: String, method: String = "GET", headers: [HTTPHeader] = [], body: String? = nil,
        interval: Duration = .seconds(30), timeout: Duration = .seconds(10),
        expectedStatus: StatusCodeSet = .success, bodyMatch: BodyMatch? = nil, latencyThreshold: Duration? = nil,
        redirects: RedirectPolicy = .init(), maxBodyBytes: Int = EndpointConfig.defaultMaxBodyBytes,
        tls: TLSOptions = .init(), ipFamily: IPFamily = .any, connection: ConnectionMode = .cold,
        authorization: Authorization? = nil
    ) {
        self.name = name
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.interval = interval
        self.timeout = timeout
        self.expectedStatus = expectedStatus
        self.bodyMatch = bodyMatch
        self.latencyThreshold = latencyThreshold
        self.redirects = redirects
        self.maxBodyBytes = maxBodyBytes
        self.tls = tls
        self.ipFamily = ipFamily
        self.connection = connection
        self.authorization = authorization
    }

    public static let defaultMaxBodyBytes = 1024 * 1024

    /// The URL without user-info credentials: the form that may appear in results, labels and logs.
    public var displayURL: String { URLRedaction.stripCredentials(url) }

    /// Printing an endpoint never shows credentials (header values, URL user-info, tokens).
    public var description: String {
        "EndpointConfig(\(name): \(method) \(displayURL) every \(HumanUnits.format(interval)), "
            + "timeout \(HumanUnits.format(timeout)), \(connection.rawValue))"
    }
}

/// A request header. Its value may be a credential, so printing it shows only the name.
public struct HTTPHeader: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public var name: String
    public var value: String

    public var description: String { "\(name): <redacted>" }
    public var debugDescription: String { description }

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

public enum Authorization: Sendable, Equatable {
    case bearer(Secret)
    case basic(username: String, password: Secret)
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

public struct TLSOptions: Sendable, Equatable {
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
