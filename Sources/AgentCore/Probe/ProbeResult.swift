/// What one probe of one endpoint found. Written to the spool and read by every output, so it
/// holds the facts and no presentation.
public struct ProbeResult: Sendable, Equatable {
    public var endpoint: String
    /// The probed URL as it may be shown: without user-info, credential-like query values redacted.
    public var url: String
    public var method: String
    public var connection: ConnectionMode
    /// When the probe started: the time outputs stamp the result with.
    public var startedAt: Timestamp
    public var timings: PhaseTimings
    /// 0 when no response status arrived.
    public var statusCode: Int
    /// `1.0`, `1.1`, `2` or `3`; nil without a response.
    public var httpVersion: String?
    public var bytesReceived: Int64
    public var remoteIP: String?
    public var redirects: Int
    /// Expiry of the server's own certificate; nil for plain HTTP or without a handshake.
    public var certificateExpiry: Timestamp?
    /// The earliest expiry in the presented chain.
    public var chainEarliestExpiry: Timestamp?
    /// nil when the probe succeeded.
    public var failure: ProbeFailure?
    /// What the probe's kind learnt beyond timings: TLS session, DNS answer, ICMP packets, gRPC status.
    public var details: ProbeDetails

    public init(
        endpoint: String, url: String, method: String, connection: ConnectionMode, startedAt: Timestamp,
        timings: PhaseTimings, statusCode: Int = 0, httpVersion: String? = nil, bytesReceived: Int64 = 0,
        remoteIP: String? = nil, redirects: Int = 0, certificateExpiry: Timestamp? = nil,
        chainEarliestExpiry: Timestamp? = nil, failure: ProbeFailure? = nil, details: ProbeDetails = ProbeDetails()
    ) {
        self.endpoint = endpoint
        self.url = url
        self.method = method
        self.connection = connection
        self.startedAt = startedAt
        self.timings = timings
        self.statusCode = statusCode
        self.httpVersion = httpVersion
        self.bytesReceived = bytesReceived
        self.remoteIP = remoteIP
        self.redirects = redirects
        self.certificateExpiry = certificateExpiry
        self.chainEarliestExpiry = chainEarliestExpiry
        self.failure = failure
        self.details = details
    }

    public var succeeded: Bool { failure == nil }
}

/// Why a probe failed, with libcurl's or the checker's own words (scrubbed of secrets).
public struct ProbeFailure: Error, Sendable, Equatable {
    public var reason: FailureReason
    public var message: String

    public init(reason: FailureReason, message: String) {
        self.reason = reason
        self.message = message
    }
}

/// The failure classes, matching the `reason` label of `probe_failures_total`. The spool stores a
/// reason by its position here, so new reasons are only ever added at the end.
public enum FailureReason: String, Sendable, CaseIterable {
    case dns, connect, tls, timeout
    case httpStatus = "http_status"
    case bodyMismatch = "body_mismatch"
    case tooLarge = "too_large"
    case redirects, other
    /// The agent could not get a socket or memory for the probe: a problem of this node, never of
    /// the target, so it must not read as `connect`.
    case resources
    /// A JSON body condition (`conditions:`) did not hold.
    case condition
    /// Slower than the endpoint's `max_duration`.
    case tooSlow = "too_slow"
    /// A `fail_if_header_matches` / `fail_if_header_not_matches` rule.
    case headerMismatch = "header_mismatch"
    /// A DNS answer's response code is not one of `valid_rcodes`.
    case dnsResponseCode = "dns_rcode"
    /// A DNS answer's records failed a `validate_answer_rrs` rule.
    case dnsAnswer = "dns_answer"
    /// More echo replies were lost than `max_loss` allows.
    case packetLoss = "packet_loss"
    /// A gRPC call ended with a status other than OK.
    case grpcStatus = "grpc_status"
    /// A gRPC health check answered, but not SERVING.
    case notServing = "not_serving"
    /// A `tcp.query_response` step saw no line matching its `expect`.
    case queryResponse = "query_response"
    /// The endpoint's credentials could not be had: its OAuth2 token endpoint refused or failed.
    case auth
}
