import Foundation

/// One target a discovery source found: where it is and the labels it comes with (a file_sd
/// group's `labels`, the mesh's `target_node`).
public struct DiscoveredTarget: Sendable, Equatable, Hashable {
    /// An IP address or host name, without brackets.
    public var host: String
    public var port: Int?
    public var labels: EndpointLabels

    public init(host: String, port: Int?, labels: EndpointLabels = .init()) {
        self.host = host
        self.port = port
        self.labels = labels
    }

    /// `host:port` as Prometheus writes `__address__` (`[::1]:80` for IPv6), or the host alone.
    public var address: String {
        guard let port else { return host }
        return IPAddress.join(host: host, port: port)
    }

    /// Reads Prometheus' target form: `host`, `host:port`, `[v6]:port`; nil when it is not one.
    public init?(address text: String, labels: EndpointLabels = .init()) {
        var host = text
        var port: Int?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let value = Int(rest.dropFirst()) else { return nil }
                port = value
            }
        } else if let colon = text.lastIndex(of: ":") {
            guard text.firstIndex(of: ":") == colon else { return nil }
            host = String(text[..<colon])
            guard let value = Int(text[text.index(after: colon)...]) else { return nil }
            port = value
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._:".contains($0)) }) else { return nil }
        if let port, !(1...65535).contains(port) { return nil }
        self.init(host: host, port: port, labels: labels)
    }
}

/// How a discovered target becomes an endpoint: a URL and a name with placeholders, and
/// everything else from a fully checked prototype (interval, timeout, checks, alert rules), as
/// `discovery.templates` gives it. Expansion is pure, so what a source finds is tested without it.
public struct TargetTemplate: Sendable, Equatable {
    public var name: String
    /// `http://{{address}}/health`; `{{address}}` is `host:port`, `{{host}}` and `{{port}}` its parts.
    public var urlPattern: String
    /// The endpoint's name; `{{address}}` unless the template says otherwise.
    public var namePattern: String
    /// Everything but the name, URL and the target's labels.
    public var prototype: EndpointConfig
    /// Used when a target has no port of its own.
    public var defaultPort: Int?

    public static let placeholders = ["{{address}}", "{{host}}", "{{port}}"]

    /// The endpoint for `target`, or why there is none (a target without the port the URL needs,
    /// a URL that is not one).
    public func endpoint(for target: DiscoveredTarget, agent: AgentConfig) -> Result<EndpointConfig, DiscoveryProblem> {
        var target = target
        if target.port == nil { target.port = defaultPort }
        if target.port == nil, urlPattern.contains("{{port}}") || namePattern.contains("{{port}}") {
            return .failure(DiscoveryProblem("target \"\(target.address)\" has no port and template \"\(name)\" sets none"))
        }
        let url = Self.expand(urlPattern, target)
        if let problem = ProbeKind.problem(url) {
            return .failure(DiscoveryProblem("target \"\(target.address)\" gives the URL \"\(agent.display(url))\", which \(problem)"))
        }
        var endpoint = prototype
        endpoint.name = Self.expand(namePattern, target)
        endpoint.url = url
        endpoint.displayURL = agent.display(url)
        endpoint.labels = prototype.labels.merging(target.labels)
        // Names were checked where they were written; together they must still fit the bound.
        guard endpoint.labels.pairs.count <= EndpointLabels.maxCount else {
            return .failure(DiscoveryProblem("target \"\(target.address)\" has \(endpoint.labels.pairs.count) labels with its template's; an endpoint has at most \(EndpointLabels.maxCount)"))
        }
        return .success(endpoint)
    }

    static func expand(_ pattern: String, _ target: DiscoveredTarget) -> String {
        pattern.replacingOccurrences(of: "{{address}}", with: target.address)
            .replacingOccurrences(of: "{{host}}", with: IPAddress.isIPv6(target.host) ? "[\(target.host)]" : target.host)
            .replacingOccurrences(of: "{{port}}", with: target.port.map(String.init) ?? "")
    }
}

/// Why one target, file or lookup gave no endpoint: shown on `/status` and logged.
public struct DiscoveryProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
