import Foundation

/// Removes every configured secret from text that comes from outside — a backend's answer,
/// libcurl's error message — before it can reach a log line, a metric, `/status`, a Loki line
/// or an error. A backend or proxy that echoes the request would otherwise hand the agent's own
/// credentials back: a bearer token as written, basic credentials as base64 of `user:password`,
/// a webhook's path, a query value percent-encoded.
public struct SecretScrubber: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Longest first, so a secret that contains another is replaced whole.
    private(set) var needles: [String]

    /// Printing a scrubber (or a configuration holding one) shows how many secrets it knows, never them.
    public var description: String { "SecretScrubber(\(needles.count) forms of secrets)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// Shorter secrets are not scrubbed: replacing one- to three-letter strings would mangle
    /// every message, and such a secret protects nothing.
    public static let shortestScrubbed = 4

    public init(secrets: [String] = []) {
        var forms = Set<String>()
        for secret in secrets where secret.count >= Self.shortestScrubbed {
            forms.formUnion(Self.encodedForms(of: secret))
        }
        needles = forms.filter { $0.count >= Self.shortestScrubbed }.sorted { ($0.count, $0) > ($1.count, $1) }
    }

    public func scrub(_ text: String) -> String {
        guard !needles.isEmpty else { return text }
        var result = text
        for needle in needles where result.contains(needle) {
            result = result.replacingOccurrences(of: needle, with: URLRedaction.placeholder)
        }
        return result
    }

    public func merging(_ other: SecretScrubber) -> SecretScrubber {
        var merged = self
        merged.needles = Array(Set(needles).union(other.needles)).sorted { ($0.count, $0) > ($1.count, $1) }
        return merged
    }

    /// The secret as written, percent-encoded, base64 (standard and URL-safe) and JSON-escaped.
    static func encodedForms(of secret: String) -> [String] {
        var forms = [secret]
        if let encoded = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) { forms.append(encoded) }
        if let encoded = secret.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) { forms.append(encoded) }
        let base64 = Data(secret.utf8).base64EncodedString()
        forms.append(base64)
        forms.append(base64.replacingOccurrences(of: "=", with: ""))
        forms.append(base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_"))
        var json = ""
        JSONLine.appendQuoted(secret, to: &json)
        forms.append(String(json.dropFirst().dropLast()))
        forms.append(secret.replacingOccurrences(of: "/", with: "\\/"))
        return forms
    }

    /// What a basic-auth header carries: base64 of `user:password`, and the password alone.
    public static func basicCredentials(username: String, password: String) -> [String] {
        ["\(username):\(password)", password]
    }

    /// A webhook URL is a secret as a whole, by its path (what a request line echoes), and by its
    /// last segment (Slack's token).
    public static func urlSecrets(_ url: String) -> [String] {
        var secrets = [url, URLRedaction.stripCredentials(url)]
        if let components = URLComponents(string: url) {
            let path = components.percentEncodedPath
            if path.count > 1 { secrets.append(path) }
            if let last = path.split(separator: "/").last, last.count >= 8 { secrets.append(String(last)) }
            if let query = components.percentEncodedQuery, query.count >= Self.shortestScrubbed { secrets.append(query) }
        }
        secrets += URLRedaction.credentials(in: url)
        return secrets
    }
}
