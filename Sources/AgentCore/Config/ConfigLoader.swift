import Foundation
import Yams

/// Turns a YAML file, or the seed project's environment variables, into an `AgentConfig`.
///
/// Everything is checked here, before the agent starts: a config that loads is one the agent can
/// run, and a mistake is reported with where it is and what was expected.
public struct ConfigLoader: Sendable {
    public var environment: [String: String]
    /// Used for the node name when neither the config nor `NODE_NAME` gives one.
    public var hostname: String

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        hostname: String = ProcessInfo.processInfo.hostName
    ) {
        self.environment = environment
        self.hostname = hostname
    }

    public static let defaultPath = "/etc/latency-agent/config.yaml"

    /// Where the configuration comes from, in order of precedence.
    public enum Source: Equatable, Sendable {
        case file(String)
        case seedEnvironment
    }

    /// `--config`, then `LATENCY_AGENT_CONFIG`, then the default path if it exists, then the seed's
    /// `API_URL_1`… variables.
    public func resolveSource(flag: String?) throws(ConfigError) -> Source {
        if let flag { return .file(flag) }
        if let path = environment["LATENCY_AGENT_CONFIG"], !path.isEmpty { return .file(path) }
        if FileManager.default.fileExists(atPath: Self.defaultPath) { return .file(Self.defaultPath) }
        if !seedURLVariables().isEmpty { return .seedEnvironment }
        throw ConfigError(
            source: "latency-agent",
            message: "no configuration: pass --config FILE, set LATENCY_AGENT_CONFIG, create \(Self.defaultPath), "
                + "or set API_URL_1 (and API_URL_2, …) as the seed project did")
    }

    public func load(_ source: Source) throws(ConfigError) -> AgentConfig {
        switch source {
        case .file(let path): return try load(path: path)
        case .seedEnvironment: return try loadSeedEnvironment()
        }
    }

    public func load(path: String) throws(ConfigError) -> AgentConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(source: path, message: "cannot read the config file (missing or not readable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(source: path, message: "the config file is not UTF-8 text")
        }
        return try parse(yaml: text, source: path)
    }

    /// Parses a YAML document; `source` names it in errors.
    public func parse(yaml: String, source: String) throws(ConfigError) -> AgentConfig {
        let root: Yams.Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ConfigError(source: source, message: "the config file is empty; it needs at least \"endpoints\"")
            }
            root = node
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            throw Self.syntaxError(error, source: source)
        } catch {
            throw ConfigError(source: source, message: "YAML error: \(error)")
        }
        let context = ConfigContext(source: source, environment: environment)
        let top = try ConfigNode(node: root, path: "", context: context)
            .mapping(allowed: ["agent", "spool", "defaults", "endpoints", "outputs", "server", "alerting"])

        var agent = AgentSettings(node: defaultNodeName())
        if let node = top["agent"] {
            let mapping = try node.mapping(allowed: ["node", "job"])
            if let name = try mapping["node"]?.nonEmptyString() { agent.node = name }
            if let job = try mapping["job"]?.nonEmptyString() { agent.job = job }
        }
        var spool = SpoolSettings()
        if let node = top["spool"] {
            let mapping = try node.mapping(allowed: ["path", "max_size", "retain"])
            if let path = try mapping["path"]?.nonEmptyString() { spool.path = path }
            if let sizeNode = mapping["max_size"] {
                let size = try sizeNode.byteSize()
                guard size >= 1024 * 1024 else { throw sizeNode.error("spool.max_size must be at least 1MiB") }
                spool.maxSize = size
            }
            if let retain = try mapping["retain"]?.duration() { spool.retain = retain }
        }
        let defaults = try top["defaults"].map { node throws(ConfigError) in
            try EndpointSettings(node.mapping(allowed: EndpointSettings.keys))
        } ?? EndpointSettings()

        let alertingMapping = try top["alerting"]?.mapping(
            allowed: ["rules", "maintenance", "slack", "grouping_window", "remind_every"])
        var baseRules = try alertingMapping?["rules"].map { node throws(ConfigError) in
            try AlertRules().overridden(by: node.mapping(allowed: AlertRules.keys))
        } ?? AlertRules()
        if let node = defaults.alerts { baseRules = try baseRules.overridden(by: node.mapping(allowed: AlertRules.keys)) }
        var rules: [String: AlertRules] = [:]

        let endpointsNode = try top.required("endpoints")
        var endpoints: [EndpointConfig] = []
        var namesSeen: [String: Int] = [:]
        for item in try endpointsNode.sequence() {
            let mapping = try item.mapping(allowed: ["name", "url"] + EndpointSettings.keys)
            let urlNode = try mapping.required("url")
            let url = try Self.checkedURL(urlNode)
            let nameNode = mapping["name"]
            let name = try nameNode?.nonEmptyString() ?? URLRedaction.stripCredentials(url)
            if let line = namesSeen[name] {
                throw (nameNode ?? urlNode).error(
                    "endpoint name \"\(name)\" is already used by the endpoint at line \(line); names must be unique")
            }
            namesSeen[name] = item.node.mark?.line ?? 0
            let settings = try EndpointSettings(mapping)
            endpoints.append(try settings.resolve(name: name, url: url, over: defaults, at: item))
            rules[name] = try settings.alerts.map { node throws(ConfigError) in
                try baseRules.overridden(by: node.mapping(allowed: AlertRules.keys))
            } ?? baseRules
        }
        guard !endpoints.isEmpty else { throw endpointsNode.error("endpoints must list at least one endpoint") }
        var outputs = OutputsConfig()
        if let node = top["outputs"] {
            let mapping = try node.mapping(allowed: ["pushgateway", "loki"])
            outputs.pushgateway = try mapping["pushgateway"].map { node throws(ConfigError) in try Self.pushgateway(node) }
            outputs.loki = try mapping["loki"].map { node throws(ConfigError) in try Self.loki(node) }
        }
        var server: ServerSettings? = ServerSettings()
        if let node = top["server"] {
            let mapping = try node.mapping(allowed: ["enabled", "address", "port"])
            if try mapping["enabled"]?.bool() == false {
                server = nil
            } else {
                server = ServerSettings(
                    address: try mapping["address"]?.string() ?? "0.0.0.0",
                    port: try mapping["port"]?.int(in: 0...65535) ?? ServerSettings.defaultPort)
            }
        }
        var alerting: AlertingConfig?
        if alertingMapping != nil || slackWebhook() != nil {
            alerting = try Self.alerting(
                alertingMapping, rules: rules, webhook: slackWebhook(), defaultGrouping: AlertingConfig.grouping(for: endpoints))
        }
        return AgentConfig(
            agent: agent, spool: spool, endpoints: endpoints, outputs: outputs, server: server, alerting: alerting)
    }

    /// The seed project's variables: `API_URL_1`…`API_URL_N`, `API_TOKEN`, `POLL_INTERVAL`,
    /// `SLACK_WEBHOOK_URL`. Each URL becomes an endpoint named after the URL, as the seed labelled them.
    public func loadSeedEnvironment() throws(ConfigError) -> AgentConfig {
        var interval = Duration.seconds(60)
        if let text = environment["POLL_INTERVAL"], !text.isEmpty {
            guard let value = HumanUnits.duration(text), value > .zero else {
                throw ConfigError(
                    source: "environment", message: "POLL_INTERVAL must be seconds (60) or a duration (1m), found \"\(text)\"")
            }
            interval = value
        }
        let token = environment["API_TOKEN"].flatMap { $0.isEmpty ? nil : Secret($0) }
        var endpoints: [EndpointConfig] = []
        for (variable, url) in seedURLVariables() {
            guard Self.isProbeURL(url) else {
                throw ConfigError(
                    source: "environment", message: "\(variable) must be an http:// or https:// URL with a host")
            }
            let name = URLRedaction.stripCredentials(url)
            guard !endpoints.contains(where: { $0.name == name }) else {
                throw ConfigError(source: "environment", message: "\(variable) repeats a URL given in another API_URL_ variable")
            }
            endpoints.append(
                EndpointConfig(
                    name: name, url: url, interval: interval, timeout: min(.seconds(10), interval),
                    authorization: token.map(Authorization.bearer)))
        }
        guard !endpoints.isEmpty else {
            throw ConfigError(source: "environment", message: "API_URL_1 is not set; it names the first URL to probe")
        }
        var outputs = OutputsConfig()
        let alerting = slackWebhook().map { webhook in
            AlertingConfig(
                rules: Dictionary(uniqueKeysWithValues: endpoints.map { ($0.name, AlertRules()) }),
                receivers: [SlackReceiver(name: "slack", webhook: webhook)], groupingWindow: AlertingConfig.grouping(for: endpoints))
        }
        if let url = environment["PUSHGATEWAY_URL"], !url.isEmpty {
            guard Self.isProbeURL(url) else {
                throw ConfigError(source: "environment", message: "PUSHGATEWAY_URL must be an http:// or https:// URL with a host")
            }
            outputs.pushgateway = PushgatewayConfig(connection: OutputConnection(url: url))
        }
        return AgentConfig(
            agent: AgentSettings(node: defaultNodeName()), endpoints: endpoints, outputs: outputs,
            server: ServerSettings(), alerting: alerting)
    }

    /// `API_URL_<n>` variables with a non-empty value, in numeric order.
    private func seedURLVariables() -> [(String, String)] {
        environment.compactMap { key, value -> (Int, String, String)? in
            guard key.hasPrefix("API_URL_"), let index = Int(key.dropFirst(8)), !value.isEmpty else { return nil }
            return (index, key, value)
        }
        .sorted { $0.0 < $1.0 }
        .map { ($0.1, $0.2) }
    }

    private func defaultNodeName() -> String {
        if let node = environment["NODE_NAME"], !node.isEmpty { return node }
        return hostname
    }

    private func slackWebhook() -> Secret? {
        environment["SLACK_WEBHOOK_URL"].flatMap { $0.isEmpty ? nil : Secret($0) }
    }

    public static func isProbeURL(_ text: String) -> Bool {
        guard !text.contains(where: \.isWhitespace), let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else { return false }
        return true
    }

    private static func pushgateway(_ node: ConfigNode) throws(ConfigError) -> PushgatewayConfig {
        let mapping = try node.mapping(
            allowed: ["url", "timeout", "tls", "push_interval", "buckets", "uptime_window", "delete_on_shutdown", "gzip",
                "phase_buckets"]
                + ConfigMapping.authorizationKeys)
        var config = PushgatewayConfig(connection: try outputConnection(mapping))
        if let interval = try mapping["push_interval"]?.positiveDuration() { config.pushInterval = interval }
        if let window = try mapping["uptime_window"]?.positiveDuration() { config.uptimeWindow = window }
        if let delete = try mapping["delete_on_shutdown"]?.bool() { config.deleteOnShutdown = delete }
        if let gzip = try mapping["gzip"]?.bool() { config.gzip = gzip }
        if let node = mapping["buckets"] {
            config.buckets = try Self.buckets(node)
            guard !config.buckets.isEmpty else { throw node.error("\(node.path) must list at least one bucket") }
        }
        if let node = mapping["phase_buckets"] { config.phaseBuckets = try Self.buckets(node) }
        return config
    }

    private static func loki(_ node: ConfigNode) throws(ConfigError) -> LokiConfig {
        let mapping = try node.mapping(
            allowed: ["url", "timeout", "tls", "tenant", "labels", "batch_size", "batch_wait", "max_bytes_per_second",
                "gzip", "min_backoff", "max_backoff"] + ConfigMapping.authorizationKeys)
        var config = LokiConfig(connection: try outputConnection(mapping))
        config.tenant = try mapping["tenant"]?.string()
        if let labels = mapping["labels"] {
            for (name, keyNode, value) in try labels.stringMap() {
                guard LokiLabels.isValidName(name), !LokiLabels.reserved.contains(name) else {
                    throw keyNode.error(
                        "label \"\(name)\" in \(labels.path) must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, "
                            + "and not be one of \(LokiLabels.reserved.joined(separator: ", ")) (the agent sets those)")
                }
                guard !value.isEmpty, value.utf8.count <= 2048 else {
                    throw keyNode.error("the value of label \"\(name)\" must have 1 to 2048 bytes")
                }
                config.labels.append((name, value))
            }
            guard config.labels.count + LokiLabels.reserved.count <= 15 else {
                throw labels.error("Loki accepts at most 15 labels per stream; \(labels.path) may add at most 12")
            }
        }
        if let size = try mapping["batch_size"]?.byteSize() {
            guard (1024...(4 << 20)).contains(size) else {
                throw mapping["batch_size"]!.error("outputs.loki.batch_size must be between 1KiB and 4MiB (Loki's request limit)")
            }
            config.batchSize = size
        }
        if let wait = try mapping["batch_wait"]?.positiveDuration() { config.batchWait = wait }
        if let rate = try mapping["max_bytes_per_second"]?.byteSize() {
            guard rate >= 1024 else { throw mapping["max_bytes_per_second"]!.error("outputs.loki.max_bytes_per_second must be at least 1KiB") }
            config.maxBytesPerSecond = rate
        }
        if let gzip = try mapping["gzip"]?.bool() { config.gzip = gzip }
        if let minimum = try mapping["min_backoff"]?.positiveDuration() { config.minBackoff = minimum }
        if let maximum = try mapping["max_backoff"]?.positiveDuration() { config.maxBackoff = maximum }
        guard config.minBackoff <= config.maxBackoff else {
            throw node.error("outputs.loki.min_backoff must not exceed max_backoff")
        }
        return config
    }

    /// The `alerting` section; `SLACK_WEBHOOK_URL` adds a receiver named `slack` when none is configured.
    private static func alerting(
        _ mapping: ConfigMapping?, rules: [String: AlertRules], webhook: Secret?, defaultGrouping: Duration
    ) throws(ConfigError) -> AlertingConfig {
        var config = AlertingConfig(rules: rules, groupingWindow: defaultGrouping)
        if let node = mapping?["grouping_window"] { config.groupingWindow = try node.duration() }
        if let node = mapping?["remind_every"] { config.remindEvery = try node.isOff() ? nil : node.positiveDuration() }
        for item in try mapping?["maintenance"]?.sequence() ?? [] {
            config.maintenance.append(try maintenanceWindow(item))
        }
        var names = Set<String>()
        for item in try mapping?["slack"]?.sequence() ?? [] {
            let receiver = try item.mapping(allowed: ["name", "webhook_url", "webhook_url_file", "endpoints", "link", "timeout"])
            let name = try receiver["name"]?.string() ?? "slack"
            guard names.insert(name).inserted else { throw item.error("\(item.path): receiver name \"\(name)\" is used twice") }
            let secret: Secret
            switch (receiver["webhook_url"], receiver["webhook_url_file"]) {
            case (let inline?, nil): secret = Secret(try inline.string())
            case (nil, let file?): secret = try file.secretFile()
            default: throw item.error("\(item.path) needs exactly one of \"webhook_url\" or \"webhook_url_file\"")
            }
            guard isProbeURL(secret.exposedValue) else {
                throw item.error("\(item.path): the webhook URL must be an http:// or https:// URL (it is not shown: it is a secret)")
            }
            var endpoints: Set<String>?
            if let list = receiver["endpoints"] {
                endpoints = []
                for entry in try list.sequence() {
                    let endpoint = try entry.string()
                    guard rules[endpoint] != nil else { throw entry.error("\(entry.path): no endpoint is named \"\(endpoint)\"") }
                    endpoints?.insert(endpoint)
                }
            }
            config.receivers.append(
                SlackReceiver(
                    name: name, webhook: secret, endpoints: endpoints, link: try receiver["link"]?.string(),
                    timeout: try receiver["timeout"]?.positiveDuration() ?? .seconds(10)))
        }
        if config.receivers.isEmpty, let webhook {
            config.receivers.append(SlackReceiver(name: "slack", webhook: webhook))
        }
        return config
    }

    /// `{from: 2026-12-01T02:00:00Z, to: …}` once, or `{every: sunday, from: "02:00", to: "03:00"}` (UTC).
    private static func maintenanceWindow(_ node: ConfigNode) throws(ConfigError) -> MaintenanceWindow {
        let mapping = try node.mapping(allowed: ["every", "from", "to"])
        let fromNode = try mapping.required("from")
        let toNode = try mapping.required("to")
        if let every = mapping["every"] {
            let days = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
            let day = try every.string().lowercased()
            guard let weekday = days.firstIndex(of: day) else { throw every.error("\(every.path) must be a weekday such as sunday") }
            func minutes(_ node: ConfigNode) throws(ConfigError) -> Int {
                let parts = try node.string().split(separator: ":").compactMap { Int($0) }
                guard parts.count == 2, (0...24).contains(parts[0]), (0...59).contains(parts[1]), parts[0] * 60 + parts[1] <= 1440 else {
                    throw node.error("\(node.path) must be a time of day such as 02:00 (UTC)")
                }
                return parts[0] * 60 + parts[1]
            }
            let start = try minutes(fromNode)
            let end = try minutes(toNode)
            guard start < end else { throw toNode.error("\(toNode.path) must be later in the day than from") }
            return .weekly(weekday: weekday, startMinute: start, endMinute: end)
        }
        func instant(_ node: ConfigNode) throws(ConfigError) -> Int64 {
            let text = try node.string()
            guard let date = ISO8601DateFormatter().date(from: text) else {
                throw node.error("\(node.path) must be a UTC time such as 2026-12-01T02:00:00Z, found \"\(text)\"")
            }
            return Int64(date.timeIntervalSince1970) * 1_000_000_000
        }
        let start = try instant(fromNode)
        let end = try instant(toNode)
        guard start < end else { throw toNode.error("\(toNode.path) must be after from") }
        return .once(start: start, end: end)
    }

    /// Histogram bounds in seconds: positive and increasing.
    private static func buckets(_ node: ConfigNode) throws(ConfigError) -> [Double] {
        var buckets: [Double] = []
        for item in try node.sequence() {
            let text = try item.string()
            guard let value = Double(text), value > 0, value.isFinite, value > (buckets.last ?? 0) else {
                throw item.error("\(item.path) must be a number of seconds above 0 and above the bucket before it, found \"\(text)\"")
            }
            buckets.append(value)
        }
        return buckets
    }

    /// The keys every HTTP output shares: `url`, `timeout`, `tls` and credentials.
    private static func outputConnection(_ mapping: ConfigMapping) throws(ConfigError) -> OutputConnection {
        OutputConnection(
            url: try checkedURL(try mapping.required("url")),
            timeout: try mapping["timeout"]?.positiveDuration() ?? .seconds(10),
            authorization: try mapping.authorization(), tls: try mapping["tls"]?.tlsOptions() ?? TLSOptions())
    }

    private static func checkedURL(_ node: ConfigNode) throws(ConfigError) -> String {
        let url = try node.string()
        guard isProbeURL(url) else {
            // The URL itself is not echoed: it may carry credentials.
            throw node.error("\(node.path) must be an http:// or https:// URL with a host name or address")
        }
        return url
    }

    private static func syntaxError(_ error: YamlError, source: String) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text), \(problem)" } ?? problem
            return ConfigError(source: source, line: mark.line, column: mark.column, message: "YAML syntax: \(detail)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return ConfigError(
                source: source, line: context.mark.line, column: context.mark.column,
                message: "key \(keys) appears more than once in the mapping that starts here")
        default:
            return ConfigError(source: source, message: "YAML error: \(error)")
        }
    }
}

extension ConfigNode {
    fileprivate func nonEmptyString() throws(ConfigError) -> String {
        let text = try string()
        guard !text.isEmpty else { throw error("\(path) must not be empty") }
        return text
    }
}
