import Foundation

/// The `discovery` section: where endpoints come from besides the `endpoints` list. Every source
/// turns what it finds into endpoints through a named template, so a generated target gets the
/// same checks, interval and alert rules as a written one.
public struct DiscoveryConfig: Sendable, Equatable {
    public var templates: [String: TargetTemplate] = [:]
    public var sources: [DiscoverySourceConfig] = []

    public init(templates: [String: TargetTemplate] = [:], sources: [DiscoverySourceConfig] = []) {
        self.templates = templates
        self.sources = sources
    }

    static let keys = ["templates", "file_sd", "dns_sd", "mesh"]

    /// The longest timeout a discovered endpoint may have: what a graceful stop waits for.
    var longestTimeout: Duration { sources.map(\.template.prototype.timeout).max() ?? .zero }

    init(
        _ node: ConfigNode, defaults: EndpointOverrides, rules: AlertRulesConfig, agent: AgentConfig, server: ServerConfig?,
        environment: [String: String]
    ) throws(ConfigError) {
        let mapping = try node.mapping(allowed: Self.keys)
        if let list = mapping["templates"] {
            for (name, keyNode, value) in try list.entries() {
                guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                    throw keyNode.error("template name \"\(name)\" may hold only letters, digits, \"-\" and \"_\"")
                }
                templates[name] = try Self.template(
                    name: name, node: value, at: value, defaultURL: "http://{{address}}/", defaultName: "{{address}}", defaults: defaults,
                    rules: rules, agent: agent)
            }
        }
        func template(_ source: ConfigMapping) throws(ConfigError) -> TargetTemplate {
            let node = try source.required("template")
            let name = try node.string()
            guard let template = templates[name] else {
                let known = templates.keys.sorted()
                throw node.error(
                    "\(node.path) names template \"\(name)\", which discovery.templates does not define"
                        + (known.isEmpty ? "" : "; defined: \(known.joined(separator: ", "))"))
            }
            return template
        }
        var names = Set<String>()
        func add(_ source: DiscoverySourceConfig, at node: ConfigNode) throws(ConfigError) {
            guard names.insert(source.name).inserted else {
                throw node.error("discovery source name \"\(source.name)\" is used twice; give each source its own name")
            }
            sources.append(source)
        }
        for (index, item) in try (mapping["file_sd"]?.sequence() ?? []).enumerated() {
            let source = try item.mapping(allowed: ["name", "files", "template", "refresh_interval"])
            let files = try source.required("files").sequence().map { file throws(ConfigError) in
                let pattern = try file.nonEmptyString()
                guard pattern.hasPrefix("/") else { throw file.error("\(file.path) must be an absolute path or glob, found \"\(pattern)\"") }
                guard !ConfigWatchPlan.split(pattern).directory.contains(where: { "*?[".contains($0) }) else {
                    throw file.error("\(file.path): only the file name may hold a glob (* ? [), as in Prometheus' file_sd")
                }
                return pattern
            }
            guard !files.isEmpty else { throw source.node.error("\(source.node.path).files must list at least one file or glob") }
            try add(
                DiscoverySourceConfig(
                    name: try source["name"]?.nonEmptyString() ?? "file_sd[\(index)]", kind: .files(files),
                    template: try template(source), refreshInterval: try source["refresh_interval"]?.positiveDuration() ?? .seconds(300)),
                at: item)
        }
        for (index, item) in try (mapping["dns_sd"]?.sequence() ?? []).enumerated() {
            let source = try item.mapping(allowed: ["name", "names", "type", "port", "server", "template", "refresh_interval"])
            let names = try source.required("names").sequence().map { name throws(ConfigError) in try name.nonEmptyString() }
            guard !names.isEmpty else { throw source.node.error("\(source.node.path).names must list at least one DNS name") }
            let type = try source["type"]?.choice([("A", DNSRecordType.a), ("AAAA", .aaaa), ("SRV", .srv)]) ?? .srv
            let port = try source["port"]?.int(in: 1...65535)
            if type != .srv, port == nil, !(try template(source)).urlPattern.contains("{{host}}") {
                throw source.node.error(
                    "\(source.node.path) looks up \(type.name) records, which carry no port: set port, or use {{host}} in the template's url")
            }
            try add(
                DiscoverySourceConfig(
                    name: try source["name"]?.nonEmptyString() ?? "dns_sd[\(index)]",
                    kind: .dns(DNSLookupConfig(names: names, type: type, port: port, resolver: try Self.resolver(source["server"]))),
                    template: try template(source), refreshInterval: try source["refresh_interval"]?.positiveDuration() ?? .seconds(30)),
                at: item)
        }
        if let node = mapping["mesh"] {
            let mesh = try node.mapping(allowed: ["name", "self", "port", "peers", "type", "server", "template", "refresh_interval"])
            let port = try mesh["port"]?.int(in: 1...65535) ?? server?.port ?? ServerConfig.defaultPort
            let selfNode = mesh["self"]
            let selfAddress = try selfNode?.nonEmptyString() ?? environment["POD_IP"] ?? ""
            guard IPAddress.isLiteral(selfAddress) else {
                throw (selfNode ?? node).error(
                    "discovery.mesh.self must be this agent's own IP address as the mesh name lists it (in a DaemonSet: "
                        + "self: ${POD_IP} with POD_IP from status.podIP); found \"\(selfAddress)\"")
            }
            let meshTemplate: TargetTemplate
            if mesh["template"] != nil {
                meshTemplate = try template(mesh)
            } else {
                guard server != nil else {
                    throw node.error(
                        "discovery.mesh probes the peers' /health, so the server must be on (remove server.enabled: false) "
                            + "or the mesh must name a template")
                }
                meshTemplate = try Self.template(
                    name: "mesh", node: nil, at: node, defaultURL: "http://{{address}}/health", defaultName: "mesh/{{host}}", defaults: defaults,
                    rules: rules, agent: agent)
            }
            var peerTemplate = meshTemplate
            if peerTemplate.namePattern == "{{address}}" { peerTemplate.namePattern = "mesh/{{host}}" }
            try add(
                DiscoverySourceConfig(
                    name: "mesh",
                    kind: .mesh(
                        MeshConfig(
                            lookup: DNSLookupConfig(
                                names: [try mesh.required("name").nonEmptyString()],
                                type: try mesh["type"]?.choice([("A", DNSRecordType.a), ("AAAA", .aaaa)]) ?? .a, port: port,
                                resolver: try Self.resolver(mesh["server"])),
                            selfAddress: selfAddress, peers: try mesh["peers"]?.int(in: 1...1000) ?? 5)),
                    template: peerTemplate, refreshInterval: try mesh["refresh_interval"]?.positiveDuration() ?? .seconds(30)),
                at: node)
        }
    }

    private static func template(
        name: String, node: ConfigNode?, at anchor: ConfigNode, defaultURL: String, defaultName: String, defaults: EndpointOverrides,
        rules: AlertRulesConfig, agent: AgentConfig
    ) throws(ConfigError) -> TargetTemplate {
        let mapping = try node?.mapping(allowed: ["url", "name", "port"] + EndpointOverrides.keys)
        let overrides = try mapping.map { mapping throws(ConfigError) in try EndpointOverrides(mapping) } ?? EndpointOverrides()
        let urlNode = mapping?["url"]
        let url = try urlNode?.nonEmptyString() ?? defaultURL
        let namePattern = try mapping?["name"]?.nonEmptyString() ?? defaultName
        for (text, what) in [(url, urlNode), (namePattern, mapping?["name"])] {
            var rest = text
            for placeholder in TargetTemplate.placeholders { rest = rest.replacingOccurrences(of: placeholder, with: "") }
            if rest.contains("{{") {
                throw (what ?? anchor).error(
                    "\((what ?? anchor).path) uses a placeholder other than \(TargetTemplate.placeholders.joined(separator: ", "))")
            }
        }
        let sample = TargetTemplate.expand(url, DiscoveredTarget(host: "127.0.0.1", port: 1))
        if let problem = ProbeKind.problem(sample) {
            throw (urlNode ?? anchor).error("\((urlNode ?? anchor).path) \(problem) once {{address}} is filled in")
        }
        let prototype = try overrides.resolve(
            name: "template \(name)", url: sample, over: defaults, rules: rules, agent: agent, at: anchor)
        return TargetTemplate(
            name: name, urlPattern: url, namePattern: namePattern, prototype: prototype, defaultPort: try mapping?["port"]?.int(in: 1...65535))
    }

    /// `server: 127.0.0.1:5353`, or the system's resolver from `/etc/resolv.conf`.
    private static func resolver(_ node: ConfigNode?) throws(ConfigError) -> DNSResolver? {
        guard let node else { return nil }
        let text = try node.string()
        guard let server = DNSServer(parsing: text) else {
            throw node.error("\(node.path) must be a DNS server's IP address, with an optional port (127.0.0.1:5353, [::1]:53); found \"\(text)\"")
        }
        return DNSResolver(server: server)
    }
}

/// One place targets come from, with the template that turns them into endpoints.
public struct DiscoverySourceConfig: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Absolute paths; the file name may be a glob.
        case files([String])
        case dns(DNSLookupConfig)
        case mesh(MeshConfig)
    }

    /// Shown on `/status` and in the metrics' `source` label.
    public var name: String
    public var kind: Kind
    public var template: TargetTemplate
    public var refreshInterval: Duration
}

public struct DNSLookupConfig: Sendable, Equatable {
    public var names: [String]
    public var type: DNSRecordType
    /// For A and AAAA records, which carry none; an SRV record's own port wins.
    public var port: Int?
    /// nil: the system's, read from `/etc/resolv.conf` at each refresh.
    public var resolver: DNSResolver?
}

/// The node mesh: every agent of a DaemonSet, found through one DNS name (the headless
/// Service), each probing `peers` of the others.
public struct MeshConfig: Sendable, Equatable {
    public var lookup: DNSLookupConfig
    public var selfAddress: String
    public var peers: Int
}
