import CCurl

/// Options the prober and the outputs set the same way.
extension CurlEasy {
    func apply(_ tls: TLSOptions) throws(CurlError) {
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

    /// Sets a request body of raw bytes; libcurl copies them.
    func setRequestBody(_ body: [UInt8]) throws(CurlError) {
        try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(body.count))
        let code = body.withUnsafeBytes { bytes in
            ccurl_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
        }
        guard code == CURLE_OK else { throw CurlError("setting the request body", code: code) }
    }

    func reset() {
        curl_easy_reset(handle)
    }

    /// A response header of the last request, e.g. `Retry-After`.
    func responseHeader(_ name: String) -> String? {
        ccurl_response_header(handle, name).map { String(cString: $0) }
    }

    /// Runs the configured request to completion on the calling thread.
    func perform() -> CURLcode {
        curl_easy_perform(handle)
    }
}

extension Authorization {
    /// Request header lines this authorization adds (bearer tokens; basic auth uses curl options).
    var headerLines: [String] {
        if case .bearer(let token) = self { return ["Authorization: Bearer \(token.exposedValue)"] }
        return []
    }
}
