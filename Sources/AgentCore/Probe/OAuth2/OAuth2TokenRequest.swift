import CCurl
import Foundation

/// One client-credentials token request (RFC 6749 §4.4) as a libcurl transfer of the probe
/// thread's multi handle, run before the probe that needs the token, with the endpoint's proxy
/// and timeout and the client's own TLS settings. The client authenticates with HTTP Basic, its id and secret
/// form-encoded first (§2.3.1), as golang.org/x/oauth2 does.
///
/// Lives on the probe thread only, like its handle.
final class OAuth2TokenRequest {
    let config: OAuth2Config
    private let transfer: CurlTransfer
    private let headers = CurlStringList(["Content-Type: application/x-www-form-urlencoded", "Accept: application/json"])
    private let tokenURL: String

    var easy: CurlEasy { transfer.easy }

    init(_ config: OAuth2Config, for endpoint: EndpointConfig, userAgent: String) throws(CurlError) {
        self.config = config
        self.tokenURL = URLRedaction.display(config.tokenURL)
        // A token response is small; a larger answer is not one.
        transfer = try CurlTransfer(keepBody: 64 * 1024, bodyLimit: 64 * 1024, keepsDescriptorReserve: true)
        try easy.set(CURLOPT_URL, config.tokenURL)
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_USERAGENT, userAgent)
        try easy.set(CURLOPT_HTTPHEADER, list: headers)
        try easy.set(CURLOPT_TIMEOUT_MS, Int(endpoint.timeout.inMillisecondsRoundedUp))
        try easy.setRequestBody(Array(Self.form(config).utf8))
        try easy.apply(config.tls)
        try easy.apply(endpoint.proxy)
        try easy.apply(
            basicAuthorization: .basic(
                username: Self.formEncoded(config.clientID), password: Secret(Self.formEncoded(config.clientSecret.exposedValue))))
    }

    func begin() { transfer.begin() }

    /// The token, or why there is none (reason `auth`, or `resources` for this node's shortage).
    func finish(code: CURLcode, now: MonotonicInstant) -> Result<OAuth2Token, ProbeFailure> {
        guard code == CURLE_OK else {
            let (reason, message) = transfer.failure(code)
            return .failure(
                ProbeFailure(reason: reason == .resources ? .resources : .auth, message: "OAuth2 token endpoint \(tokenURL): \(message)"))
        }
        return OAuth2Token.parse(status: easy.int(CURLINFO_RESPONSE_CODE), body: transfer.body, tokenURL: tokenURL, now: now)
    }

    /// `grant_type=client_credentials`, the scopes space-separated, then the extra parameters.
    static func form(_ config: OAuth2Config) -> String {
        var fields = [("grant_type", "client_credentials")]
        if !config.scopes.isEmpty { fields.append(("scope", config.scopes.joined(separator: " "))) }
        fields += config.endpointParams.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return fields.map { "\(formEncoded($0.0))=\(formEncoded($0.1))" }.joined(separator: "&")
    }

    /// application/x-www-form-urlencoded: unreserved characters as they are, space as "+".
    static func formEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                out += "+"
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
