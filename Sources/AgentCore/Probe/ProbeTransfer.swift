import CCurl
import Foundation

/// One endpoint's libcurl transfer, configured once and re-added to the multi handle for every
/// probe, so the per-probe cost is a reset of a few counters.
///
/// Lives on the `ProbeEngine` thread only, like the handle it owns (checked at run time).
final class ProbeTransfer {
    let endpoint: EndpointConfig
    let transfer: CurlTransfer
    /// The request headers libcurl sends; replaced when an OAuth2 token arrives.
    private var headers: CurlStringList
    private let headerLines: [String]
    /// The OAuth2 token the headers carry, if any.
    private(set) var bearer: Secret?
    private let checker: ResponseChecker
    private let scrubber: SecretScrubber
    /// The service a gRPC health check names, read from the URL once rather than at every probe.
    private let grpcService: String
    /// The `tcp.query_response` dialogue's steps, their patterns compiled once.
    let queryResponse: [QueryResponse.Step]
    private(set) var startedAt = Timestamp(unixNanoseconds: 0)

    var easy: CurlEasy { transfer.easy }

    init(endpoint: EndpointConfig, userAgent: String, scrubber: SecretScrubber) throws(CurlError) {
        self.endpoint = endpoint
        self.scrubber = scrubber
        self.grpcService =
            endpoint.kind == .grpc
            ? GRPCHealthCheck.service(fromPath: URLComponents(string: endpoint.url)?.percentEncodedPath ?? "") ?? "" : ""
        self.queryResponse = endpoint.tcp.queryResponse.map(QueryResponse.Step.init)
        self.checker = ResponseChecker(endpoint.conditions, bodyMatch: endpoint.bodyMatch)
        // A health check's reply is a few bytes; it is read for its serving status.
        let keepBody = endpoint.kind == .grpc ? 1024 : checker.readsBody ? endpoint.maxBodyBytes : 0
        self.transfer = try CurlTransfer(keepBody: keepBody, bodyLimit: endpoint.maxBodyBytes, keepsDescriptorReserve: true)
        self.headerLines =
            endpoint.headers.map { "\($0.name): \($0.value)" } + (endpoint.authorization?.headerLines ?? [])
            + (endpoint.kind == .grpc ? GRPCHealthCheck.headerLines : [])
        self.headers = CurlStringList(headerLines)
        try configure(userAgent: userAgent)
    }

    private func configure(userAgent: String) throws(CurlError) {
        try easy.set(CURLOPT_URL, ProbeKind.curlURL(endpoint.url, tls: endpoint.tcp.tls))
        // tcp:// and tls://: connect (and handshake), then stop; no request is sent.
        if endpoint.kind.connectsOnly { try easy.set(CURLOPT_CONNECT_ONLY, true) }
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_USERAGENT, userAgent)
        try easy.set(CURLOPT_HTTPHEADER, list: headers)
        // Both limits: the connect timeout alone would let a slow-drip body run on forever.
        try easy.set(CURLOPT_TIMEOUT_MS, Int(endpoint.timeout.inMillisecondsRoundedUp))
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, Int(endpoint.timeout.inMillisecondsRoundedUp))
        try easy.set(CURLOPT_FOLLOWLOCATION, endpoint.redirects.follow)
        try easy.set(CURLOPT_MAXREDIRS, endpoint.redirects.maxHops)
        try easy.set(CURLOPT_CERTINFO, true)
        switch endpoint.ipFamily {
        case .any: try easy.set(CURLOPT_IPRESOLVE, Int(CURL_IPRESOLVE_WHATEVER))
        case .ipv4: try easy.set(CURLOPT_IPRESOLVE, Int(CURL_IPRESOLVE_V4))
        case .ipv6: try easy.set(CURLOPT_IPRESOLVE, Int(CURL_IPRESOLVE_V6))
        }
        if endpoint.connection == .cold {
            try easy.set(CURLOPT_FRESH_CONNECT, true)
            // libcurl would close a connect-only connection at once, before its dialogue.
            try easy.set(CURLOPT_FORBID_REUSE, endpoint.tcp.queryResponse.isEmpty)
            try easy.set(CURLOPT_DNS_CACHE_TIMEOUT, 0)
        }
        switch endpoint.kind {
        case .http: try configureMethod()
        case .grpc: try configureHealthCheck()
        case .tcp, .tls, .dns, .icmp: break
        }
        try easy.apply(endpoint.tls)
        try easy.apply(basicAuthorization: endpoint.authorization)
        try easy.apply(endpoint.proxy)
    }

    private func configureMethod() throws(CurlError) {
        switch endpoint.method {
        case "GET" where endpoint.body == nil:
            try easy.set(CURLOPT_HTTPGET, true)
        case "HEAD":
            // A custom "HEAD" request would wait for a body that never comes.
            try easy.set(CURLOPT_NOBODY, true)
        default:
            try easy.setRequestBody(Array((endpoint.body ?? "").utf8))
            if endpoint.method != "POST" { try easy.set(CURLOPT_CUSTOMREQUEST, endpoint.method) }
        }
    }

    /// gRPC needs HTTP/2: over TLS by ALPN (`grpcs://`), in clear text with prior knowledge (h2c).
    private func configureHealthCheck() throws(CurlError) {
        let secure = endpoint.url.lowercased().hasPrefix("grpcs:")
        try easy.set(CURLOPT_HTTP_VERSION, Int(secure ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE))
        try easy.set(CURLOPT_FOLLOWLOCATION, false)
        try easy.setRequestBody(GRPCHealthCheck.requestBody(service: grpcService))
    }


    /// Sends `token` as the request's `Authorization: Bearer` from now on.
    func authorize(bearer token: Secret) throws(CurlError) {
        guard token != bearer else { return }
        let updated = CurlStringList(headerLines + ["Authorization: Bearer \(token.exposedValue)"])
        // libcurl keeps the pointer: the old list may go only once the handle has the new one.
        try easy.set(CURLOPT_HTTPHEADER, list: updated)
        headers = updated
        bearer = token
    }

    /// The result of a probe that could not send its request: its credentials could not be
    /// had. Only the total, the time spent trying, is measured.
    func failedBeforeRequest(_ failure: ProbeFailure, startedAt: Timestamp, took: Duration) -> ProbeResult {
        ProbeResult(
            endpoint: endpoint.name, url: endpoint.displayURL, method: endpoint.method, connection: endpoint.connection,
            startedAt: startedAt, timings: PhaseTimings(total: took),
            failure: ProbeFailure(reason: failure.reason, message: scrubber.scrub(failure.message)))
    }

    /// Resets the per-probe state; called right before the handle is added to the multi handle.
    func begin(startedAt: Timestamp) {
        self.startedAt = startedAt
        transfer.begin()
    }

    /// Reads what libcurl measured and classifies the outcome.
    func finish(code: CURLcode) -> ProbeResult {
        let marks = PhaseTimings.Marks(
            nameLookup: easy.duration(CURLINFO_NAMELOOKUP_TIME_T), connect: easy.duration(CURLINFO_CONNECT_TIME_T),
            appConnect: easy.duration(CURLINFO_APPCONNECT_TIME_T), preTransfer: easy.duration(CURLINFO_PRETRANSFER_TIME_T),
            startTransfer: easy.duration(CURLINFO_STARTTRANSFER_TIME_T), total: easy.duration(CURLINFO_TOTAL_TIME_T),
            redirect: easy.duration(CURLINFO_REDIRECT_TIME_T))
        let chain = easy.certificateChain().map(CertificateDate.expiry(fromCertificateLines:))
        let statusCode = easy.int(CURLINFO_RESPONSE_CODE)
        var result = ProbeResult(
            endpoint: endpoint.name, url: endpoint.displayURL, method: endpoint.method,
            connection: endpoint.connection, startedAt: startedAt, timings: PhaseTimings(marks: marks),
            statusCode: statusCode, httpVersion: statusCode == 0 ? nil : Self.httpVersion(easy.int(CURLINFO_HTTP_VERSION)),
            bytesReceived: Int64(transfer.bytesReceived), remoteIP: easy.string(CURLINFO_PRIMARY_IP),
            redirects: easy.int(CURLINFO_REDIRECT_COUNT), certificateExpiry: chain.first ?? nil,
            chainEarliestExpiry: chain.compactMap { $0 }.min())
        let session = transfer.tlsSession
        result.details.tlsVersion = session?.version
        result.details.tlsCipher = session?.cipher
        if endpoint.kind == .http, statusCode != 0 {
            let length = easy.size(CURLINFO_CONTENT_LENGTH_DOWNLOAD_T)
            result.details.contentLength = length < 0 ? nil : length
        }
        result.failure = failure(code: code, statusCode: statusCode, total: result.timings.total, details: &result.details)
        return result
    }

    private func failure(code: CURLcode, statusCode: Int, total: Duration, details: inout ProbeDetails) -> ProbeFailure? {
        if code != CURLE_OK {
            if transfer.exceededBodyLimit {
                return ProbeFailure(
                    reason: .tooLarge, message: "response body exceeded max_body_size of \(endpoint.maxBodyBytes) bytes")
            }
            let (reason, message) = transfer.failure(code)
            return ProbeFailure(reason: reason, message: scrubber.scrub(message))
        }
        switch endpoint.kind {
        case .http:
            guard endpoint.expectedStatus.contains(statusCode) else {
                return ProbeFailure(
                    reason: .httpStatus, message: "status \(statusCode) is not one of \(endpoint.expectedStatus)")
            }
            return checker.failure(body: transfer.body, total: total, header: easy.responseHeader)
        case .grpc:
            let outcome = GRPCHealthCheck.outcome(
                httpStatus: statusCode, grpcStatus: easy.responseHeader("grpc-status").last,
                grpcMessage: easy.responseHeader("grpc-message").last, body: transfer.body, service: grpcService)
            details.grpc = outcome.details
            if let failure = outcome.failure { return ProbeFailure(reason: failure.reason, message: scrubber.scrub(failure.message)) }
            return checker.failure(body: [], total: total, header: easy.responseHeader)
        case .tcp, .tls, .dns, .icmp:
            // Connected (and the handshake verified): only a time limit is left to check.
            return checker.failure(body: [], total: total)
        }
    }

    /// The dialogue to run on the connection a `tcp://` probe with `query_response` just
    /// opened; nil when there is none to run (no steps, or the connect already failed).
    func queryResponseProbe(after connected: ProbeResult, now: MonotonicInstant) -> QueryResponseProbe? {
        guard endpoint.kind.connectsOnly, !queryResponse.isEmpty, connected.failure == nil else { return nil }
        return QueryResponseProbe(transfer: self, connected: connected, now: now)
    }

    /// The connect's result with the dialogue added: its time is the `processing` phase and
    /// part of the total, which `max_duration` then checks.
    func finishQueryResponse(_ connected: ProbeResult, took: Duration, received: Int, failure: ProbeFailure?) -> ProbeResult {
        var result = connected
        result.bytesReceived = Int64(received)
        result.timings.processing = took
        result.timings.total = connected.timings.total + took
        result.failure = failure.map { ProbeFailure(reason: $0.reason, message: scrubber.scrub($0.message)) }
            ?? checker.failure(body: [], total: result.timings.total)
        return result
    }

    private static func httpVersion(_ code: Int) -> String? {
        switch code {
        case CURL_HTTP_VERSION_1_0: return "1.0"
        case CURL_HTTP_VERSION_1_1: return "1.1"
        case CURL_HTTP_VERSION_2_0: return "2"
        case CURL_HTTP_VERSION_3: return "3"
        default: return nil
        }
    }
}
