import CCurl

/// One endpoint's libcurl transfer, configured once and re-added to the multi handle for every
/// probe, so the per-probe cost is a reset of a few counters.
///
/// Lives on the `ProbeEngine` thread only, like the easy handle it owns.
final class ProbeTransfer {
    let endpoint: EndpointConfig
    let easy: CurlEasy
    private let headers: CurlStringList
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let bodyMatcher: BodyMatcher?
    private var body: [UInt8] = []
    private var bytesReceived = 0
    private var exceededBodyLimit = false
    private(set) var startedAt: Int64 = 0

    init(endpoint: EndpointConfig, userAgent: String) throws(CurlError) {
        self.endpoint = endpoint
        self.easy = CurlEasy()
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        self.bodyMatcher = endpoint.bodyMatch.map(BodyMatcher.init)
        self.headers = CurlStringList(
            endpoint.headers.map { "\($0.name): \($0.value)" } + (endpoint.authorization?.headerLines ?? []))
        try configure(userAgent: userAgent)
    }

    deinit {
        errorBuffer.deallocate()
    }

    private func configure(userAgent: String) throws(CurlError) {
        try easy.set(CURLOPT_URL, endpoint.url)
        try easy.set(CURLOPT_NOSIGNAL, true)
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_USERAGENT, userAgent)
        try easy.set(CURLOPT_HTTPHEADER, list: headers)
        try easy.set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        try easy.set(CURLOPT_WRITEFUNCTION, callback: probeTransferReceive)
        try easy.set(CURLOPT_WRITEDATA, pointer: Unmanaged.passUnretained(self).toOpaque())
        // Both limits: the connect timeout alone would let a slow-drip body run on forever.
        try easy.set(CURLOPT_TIMEOUT_MS, Int(endpoint.timeout.millisecondsRoundedUp))
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, Int(endpoint.timeout.millisecondsRoundedUp))
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
            try easy.set(CURLOPT_FORBID_REUSE, true)
            try easy.set(CURLOPT_DNS_CACHE_TIMEOUT, 0)
        }
        try configureMethod()
        try easy.apply(endpoint.tls)
        try easy.apply(basicAuthorization: endpoint.authorization)
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

    /// Resets the per-probe state; called right before the handle is added to the multi handle.
    func begin(startedAt: Int64) {
        self.startedAt = startedAt
        bytesReceived = 0
        exceededBodyLimit = false
        body.removeAll(keepingCapacity: true)
        errorBuffer[0] = 0
    }

    /// Takes a chunk of the response body; false aborts the transfer (the body is over its limit).
    fileprivate func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        bytesReceived += chunk.count
        guard bytesReceived <= endpoint.maxBodyBytes else {
            exceededBodyLimit = true
            return false
        }
        if bodyMatcher != nil { body.append(contentsOf: chunk) }
        return true
    }

    /// Reads what libcurl measured and classifies the outcome.
    func finish(code: CURLcode) -> ProbeResult {
        let marks = PhaseTimings.Marks(
            nameLookup: easy.offset(CURLINFO_NAMELOOKUP_TIME_T), connect: easy.offset(CURLINFO_CONNECT_TIME_T),
            appConnect: easy.offset(CURLINFO_APPCONNECT_TIME_T), preTransfer: easy.offset(CURLINFO_PRETRANSFER_TIME_T),
            startTransfer: easy.offset(CURLINFO_STARTTRANSFER_TIME_T), total: easy.offset(CURLINFO_TOTAL_TIME_T),
            redirect: easy.offset(CURLINFO_REDIRECT_TIME_T))
        let chain = easy.certificateChain().map(CertificateDate.expiry(fromCertificateLines:))
        let statusCode = easy.int(CURLINFO_RESPONSE_CODE)
        var result = ProbeResult(
            endpoint: endpoint.name, url: endpoint.displayURL, method: endpoint.method,
            connection: endpoint.connection, startedAt: startedAt, timings: PhaseTimings(marks: marks),
            statusCode: statusCode, httpVersion: statusCode == 0 ? nil : Self.httpVersion(easy.int(CURLINFO_HTTP_VERSION)),
            bytesReceived: Int64(bytesReceived), remoteIP: easy.string(CURLINFO_PRIMARY_IP),
            redirects: easy.int(CURLINFO_REDIRECT_COUNT), certificateExpiry: chain.first ?? nil,
            chainEarliestExpiry: chain.compactMap { $0 }.min())
        result.failure = failure(code: code, statusCode: statusCode)
        return result
    }

    private func failure(code: CURLcode, statusCode: Int) -> ProbeFailure? {
        if code != CURLE_OK {
            if exceededBodyLimit {
                return ProbeFailure(
                    reason: .tooLarge, message: "response body exceeded max_body_size of \(endpoint.maxBodyBytes) bytes")
            }
            let detail = String(cString: errorBuffer)
            return ProbeFailure(
                reason: FailureReason(curlCode: code),
                message: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        guard endpoint.expectedStatus.contains(statusCode) else {
            return ProbeFailure(
                reason: .httpStatus, message: "status \(statusCode) is not one of \(endpoint.expectedStatus)")
        }
        if let bodyMatcher, !bodyMatcher.matches(body) {
            return ProbeFailure(reason: .bodyMismatch, message: bodyMatcher.mismatchMessage)
        }
        return nil
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

/// libcurl's write callback: hands each body chunk to the `ProbeTransfer` in `userData`.
/// Returning less than the chunk size makes libcurl abort with `CURLE_WRITE_ERROR`.
private func probeTransferReceive(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userData: UnsafeMutableRawPointer?
) -> Int {
    guard let userData else { return 0 }
    let transfer = Unmanaged<ProbeTransfer>.fromOpaque(userData).takeUnretainedValue()
    let length = size * count
    return transfer.receive(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

extension FailureReason {
    /// Maps libcurl's error code for a failed transfer to the failure class.
    init(curlCode code: CURLcode) {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            self = .dns
        case CURLE_COULDNT_CONNECT:
            self = .connect
        case CURLE_OPERATION_TIMEDOUT:
            self = .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
            CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_SHUTDOWN_FAILED, CURLE_USE_SSL_FAILED,
            CURLE_SSL_CLIENTCERT:
            self = .tls
        case CURLE_TOO_MANY_REDIRECTS:
            self = .redirects
        case CURLE_FILESIZE_EXCEEDED:
            self = .tooLarge
        default:
            self = .other
        }
    }
}
