import Foundation

/// The form of a URL that may be shown or stored: without `user:password@`, and with the values
/// of credential-like query parameters (`?api_key=…`) replaced by `<redacted>`. It is what
/// results, labels, logs, `/status`, Loki lines and the spool hold.
public enum URLRedaction {
    /// Query parameters treated as credentials unless `agent.redact_query_params` says otherwise.
    public static let defaultParameters = [
        "token", "access_token", "api_key", "apikey", "key", "password", "secret", "sig", "signature", "auth",
    ]
    public static let placeholder = "<redacted>"

    public static func display(_ url: String, redacting parameters: [String] = defaultParameters) -> String {
        redactQuery(stripCredentials(url), parameters: Set(parameters.map { $0.lowercased() }))
    }

    public static func stripCredentials(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let authorityStart = schemeEnd.upperBound
        let authorityEnd = url[authorityStart...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? url.endIndex
        guard let at = url[authorityStart..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<authorityStart]) + String(url[url.index(after: at)...])
    }

    /// The credentials a URL carries — its user-info password (with `user:password`, which basic
    /// auth sends as base64) and the values of credential-like query parameters, as written and
    /// decoded: what the scrubber removes from text that echoes the URL.
    public static func credentials(in url: String, parameters: [String] = defaultParameters) -> [String] {
        let names = Set(parameters.map { $0.lowercased() })
        var found = queryPairs(url).flatMap { name, value -> [String] in
            guard names.contains(name.lowercased()), !value.isEmpty else { return [] }
            return [value, value.removingPercentEncoding ?? value]
        }
        // As written (percent-encoded) and decoded, which is what basic auth sends.
        if let components = URLComponents(string: url), let password = components.percentEncodedPassword {
            let user = components.percentEncodedUser ?? ""
            found += SecretScrubber.basicCredentials(username: user, password: password)
            found += SecretScrubber.basicCredentials(
                username: user.removingPercentEncoding ?? user, password: password.removingPercentEncoding ?? password)
        }
        return found
    }

    private static func redactQuery(_ url: String, parameters: Set<String>) -> String {
        guard let question = url.firstIndex(of: "?") else { return url }
        let fragmentStart = url[question...].firstIndex(of: "#") ?? url.endIndex
        let query = url[url.index(after: question)..<fragmentStart]
        let redacted = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            let name = pair[..<equals]
            let decoded = (String(name).removingPercentEncoding ?? String(name)).lowercased()
            return parameters.contains(decoded) ? "\(name)=\(placeholder)" : String(pair)
        }
        return String(url[...question]) + redacted.joined(separator: "&") + String(url[fragmentStart...])
    }

    private static func queryPairs(_ url: String) -> [(String, String)] {
        guard let question = url.firstIndex(of: "?") else { return [] }
        let fragmentStart = url[question...].firstIndex(of: "#") ?? url.endIndex
        return url[url.index(after: question)..<fragmentStart].split(separator: "&").compactMap { pair in
            guard let equals = pair.firstIndex(of: "=") else { return nil }
            let name = String(pair[..<equals])
            return (name.removingPercentEncoding ?? name, String(pair[equals...].dropFirst()))
        }
    }
}
