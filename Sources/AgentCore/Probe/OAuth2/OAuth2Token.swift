import Foundation

/// An access token the token endpoint issued, and when to stop using it: `expires_in` less
/// ten seconds, as golang.org/x/oauth2 (and so Prometheus) refreshes; never for a token that
/// came without `expires_in` (it is kept until the endpoint refuses it with 401).
struct OAuth2Token: Equatable {
    let value: Secret
    let refreshAt: MonotonicInstant?

    static let refreshMargin = Duration.seconds(10)

    func isUsable(at now: MonotonicInstant) -> Bool { refreshAt.map { now < $0 } ?? true }

    /// Reads a token endpoint's answer (RFC 6749 §5.1, §5.2). The failure message names the
    /// endpoint's `error` and `error_description` and never any token.
    static func parse(status: Int, body: [UInt8], tokenURL: String, now: MonotonicInstant) -> Result<OAuth2Token, ProbeFailure> {
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        guard (200...299).contains(status) else {
            var said = ""
            if let error = object?["error"] as? String {
                said = ": \(error)" + ((object?["error_description"] as? String).map { " (\($0.prefix(200)))" } ?? "")
            }
            return .failure(ProbeFailure(reason: .auth, message: "OAuth2 token endpoint \(tokenURL) answered \(status)\(said)"))
        }
        guard let object, let token = object["access_token"] as? String, !token.isEmpty else {
            return .failure(
                ProbeFailure(
                    reason: .auth,
                    message: "OAuth2 token endpoint \(tokenURL) answered \(status) without an access_token (a JSON token response)"))
        }
        if let type = object["token_type"] as? String, type.lowercased() != "bearer" {
            return .failure(
                ProbeFailure(
                    reason: .auth, message: "OAuth2 token endpoint \(tokenURL) issued a \(type) token; the agent sends Bearer tokens"))
        }
        // Some identity providers send the lifetime as a string.
        let lifetime = (object["expires_in"] as? NSNumber)?.doubleValue ?? (object["expires_in"] as? String).flatMap(Double.init)
        let refreshAt = lifetime.map { now + .milliseconds(Int64(max(0, $0) * 1000)) - refreshMargin }
        return .success(OAuth2Token(value: Secret(token), refreshAt: refreshAt))
    }
}

/// The tokens of the probe thread, one per token-endpoint setting, so endpoints that share a
/// client share its token. A pure value: the engine asks, stores and drops.
struct OAuth2TokenCache {
    private var tokens: [OAuth2Config: OAuth2Token] = [:]

    func usable(for config: OAuth2Config, at now: MonotonicInstant) -> OAuth2Token? {
        tokens[config].flatMap { $0.isUsable(at: now) ? $0 : nil }
    }

    mutating func store(_ token: OAuth2Token, for config: OAuth2Config) { tokens[config] = token }

    /// The endpoint refused `token` (401): the next probe fetches a new one. A newer token
    /// stored meanwhile stays.
    mutating func refused(_ token: Secret, for config: OAuth2Config) {
        if tokens[config]?.value == token { tokens[config] = nil }
    }

    /// Keeps only the settings some endpoint still uses, so a rotated secret's old token goes.
    mutating func keep(_ configs: Set<OAuth2Config>) { tokens = tokens.filter { configs.contains($0.key) } }
}
