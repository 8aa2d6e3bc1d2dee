import CCurl

/// Options the prober and the outputs set the same way.
extension CurlEasy {
    func apply(_ tls: TLSConfig) throws(CurlError) {
        if let caFile = tls.caFile { try set(CURLOPT_CAINFO, caFile) }
        if let certFile = tls.certFile { try set(CURLOPT_SSLCERT, certFile) }
        if let keyFile = tls.keyFile { try set(CURLOPT_SSLKEY, keyFile) }
        if tls.insecure {
            try set(CURLOPT_SSL_VERIFYPEER, false)
            try set(CURLOPT_SSL_VERIFYHOST, 0)
        }
    }

    /// Basic credentials go through libcurl's options; bearer tokens are headers (`headerLines`).
    func apply(basicAuthorization authorization: Authorization?) throws(CurlError) {
        guard case .basic(let username, let password) = authorization else { return }
        try set(CURLOPT_HTTPAUTH, CCURL_AUTH_BASIC)
        try set(CURLOPT_USERNAME, username)
        try set(CURLOPT_PASSWORD, password.exposedValue)
    }

    /// libcurl obeys `http_proxy`, `https_proxy` and `no_proxy` from the environment unless told
    /// otherwise; an empty proxy (and an empty no-proxy list) turns that off, so what is probed
    /// is what the config says.
    func apply(_ proxy: ProxyConfig) throws(CurlError) {
        switch proxy {
        case .direct:
            try set(CURLOPT_PROXY, "")
        case .url(let url, let noProxy):
            try set(CURLOPT_PROXY, url)
            try set(CURLOPT_NOPROXY, noProxy.joined(separator: ","))
        case .environment:
            break
        }
    }
}

extension Authorization {
    /// Request header lines this authorization adds (bearer tokens; basic auth uses curl options).
    var headerLines: [String] {
        if case .bearer(let token) = self { return ["Authorization: Bearer \(token.exposedValue)"] }
        return []
    }
}

extension CurlTransfer {
    /// Why a transfer failed and libcurl's words for it, told apart the way the agent reports
    /// failures: no socket on this node is `resources`, a response over a limit is `too_large`.
    func failure(_ code: CURLcode) -> (reason: FailureReason, message: String) {
        if let errno = socketFailure {
            return (.resources, "cannot open a socket: \(SystemError.describe(errno)); \(SystemError.openFileLimitText)")
        }
        if exceededHeaderLimit {
            return (.tooLarge, "response headers exceeded \(headerLimit / 1024) KiB")
        }
        if code == CURLE_OUT_OF_MEMORY, headerBytes > 0 || bytesReceived > 0 {
            // libcurl 7.88 reports an over-long header line (over 100 KiB) as out of memory.
            return (.tooLarge, "response headers exceeded what libcurl accepts (100 KiB per header line)")
        }
        return (FailureReason(curlCode: code), errorMessage(code))
    }
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
        case CURLE_OUT_OF_MEMORY:
            self = .resources
        default:
            self = .other
        }
    }
}
