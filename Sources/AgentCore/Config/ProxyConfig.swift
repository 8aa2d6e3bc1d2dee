import Foundation

/// Where a probe's request goes first. Proxies from the environment (`http_proxy`, …) are ignored
/// unless asked for: a prober must measure the path its configuration names, not one a stray
/// variable in the node's environment sends it through.
public enum ProxyConfig: Sendable, Equatable {
    case direct
    /// Through this proxy, except for the hosts in `noProxy` (libcurl's `NOPROXY` rules: host
    /// names and domains, `*` for all).
    case url(String, noProxy: [String])
    /// As libcurl reads `http_proxy`, `https_proxy`, `all_proxy` and `no_proxy`.
    case environment

    static let keys = ["proxy_url", "no_proxy", "proxy_from_environment"]
    static let schemes = ["http", "https", "socks4", "socks4a", "socks5", "socks5h"]

    /// The proxy an endpoint (or `defaults`) names; nil when it names none.
    static func parse(_ mapping: ConfigMapping) throws(ConfigError) -> ProxyConfig? {
        let fromEnvironment = try mapping["proxy_from_environment"]?.bool()
        let noProxy = try mapping["no_proxy"].map { node throws(ConfigError) in
            try node.sequence().map { item throws(ConfigError) in try item.nonEmptyString() }
        }
        guard let urlNode = mapping["proxy_url"] else {
            if let node = mapping["no_proxy"] {
                throw node.error("\(node.path) applies only with proxy_url (for the environment's no_proxy, set proxy_from_environment: true)")
            }
            return fromEnvironment.map { $0 ? .environment : .direct }
        }
        if fromEnvironment == true, let node = mapping["proxy_from_environment"] {
            throw node.error("\(node.path) and proxy_url exclude each other: name the proxy, or take it from the environment")
        }
        let url = try urlNode.string()
        if let problem = problem(url) { throw urlNode.error("\(urlNode.path) \(problem)") }
        return .url(url, noProxy: noProxy ?? [])
    }

    /// What is wrong with a proxy URL, in words that follow its name; nil when nothing is.
    public static func problem(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            schemes.contains(scheme), let host = components.host, !host.isEmpty
        else {
            return "must be a proxy URL such as http://proxy.internal:3128 (schemes: \(schemes.joined(separator: ", ")))"
        }
        if let port = components.port, !(1...65535).contains(port) { return "has port \(port); ports go from 1 to 65535" }
        return nil
    }

    /// Credentials in the proxy URL, to be scrubbed wherever text from outside is shown.
    var secrets: [String] {
        if case .url(let url, _) = self { return URLRedaction.credentials(in: url) }
        return []
    }

    /// How the status page and `check-config` show it.
    public var display: String? {
        switch self {
        case .direct: return nil
        case .url(let url, let noProxy):
            return "via proxy \(URLRedaction.display(url))" + (noProxy.isEmpty ? "" : " (not for \(noProxy.joined(separator: ", ")))")
        case .environment: return "via the environment's proxy"
        }
    }
}
