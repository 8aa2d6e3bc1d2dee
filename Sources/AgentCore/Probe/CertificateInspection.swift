import CCurl

/// A connect-only TLS handshake without verification, made after a probe failed verification, to
/// read the certificate chain libcurl does not keep from the failed handshake. An expired or
/// wrongly-issued certificate is the usual reason for such a failure, and its dates are what the
/// person on call needs first.
///
/// Lives on the `ProbeEngine` thread, like the transfer it completes.
final class CertificateInspection {
    let easy = CurlEasy()
    /// The failed probe's result, completed with the expiries and then delivered.
    private(set) var result: ProbeResult

    /// Whether a failed probe's result should be completed by an inspection.
    static func isWanted(for result: ProbeResult, code: CURLcode) -> Bool {
        result.failure?.reason == .tls && result.certificateExpiry == nil
            && (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CONNECT_ERROR)
    }

    init(for endpoint: EndpointConfig, result: ProbeResult) throws(CurlError) {
        self.result = result
        try easy.set(CURLOPT_URL, endpoint.url)
        try easy.set(CURLOPT_NOSIGNAL, true)
        try easy.set(CURLOPT_CONNECT_ONLY, 1)
        try easy.set(CURLOPT_CERTINFO, true)
        try easy.set(CURLOPT_SSL_VERIFYPEER, false)
        try easy.set(CURLOPT_SSL_VERIFYHOST, 0)
        try easy.set(CURLOPT_FRESH_CONNECT, true)
        try easy.set(CURLOPT_FORBID_REUSE, true)
        try easy.set(CURLOPT_TIMEOUT_MS, Int(endpoint.timeout.inMillisecondsRoundedUp))
        try easy.apply(endpoint.proxy)
    }

    /// The failed probe's result with whatever expiries the handshake revealed.
    func finish() -> ProbeResult {
        let chain = easy.certificateChain().map(CertificateDate.expiry(fromCertificateLines:))
        result.certificateExpiry = chain.first ?? nil
        result.chainEarliestExpiry = chain.compactMap { $0 }.min()
        return result
    }
}
