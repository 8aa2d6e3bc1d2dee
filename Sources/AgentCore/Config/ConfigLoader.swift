import Foundation
import Yams

/// Finds the configuration and turns its text into a `Configuration`: the file (or the seed
/// project's environment variables), YAML parsing, and YAML's own errors turned into positions in
/// the agent's words. What the keys mean is each section's business.
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
    /// A larger file is refused before it is parsed: parsing takes memory in proportion to the
    /// text, and 16 MiB holds far more than `Configuration.maxEndpoints` endpoints.
    public static let maxFileBytes = 16 << 20
    /// Deeper nesting than this is refused: no configuration needs it, and libyaml's own limit
    /// would fail with a less helpful message.
    public static let maxDepth = 64

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

    public func load(_ source: Source) throws(ConfigError) -> Configuration {
        switch source {
        case .file(let path): return try load(path: path)
        case .seedEnvironment: return try loadSeedEnvironment()
        }
    }

    public func load(path: String) throws(ConfigError) -> Configuration {
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? Int, size > Self.maxFileBytes
        {
            throw ConfigError(
                source: path,
                message: "the config file has \(size) bytes; the agent reads at most \(Self.maxFileBytes) (16 MiB). "
                    + "Split the endpoints over several agents")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(source: path, message: "cannot read the config file (missing or not readable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(source: path, message: "the config file is not UTF-8 text")
        }
        var config = try parse(yaml: text, source: path)
        config.sourceFiles.insert(path, at: 0)
        return config
    }

    /// Parses a YAML document; `source` names it in errors.
    public func parse(yaml: String, source: String) throws(ConfigError) -> Configuration {
        try Self.checkText(yaml, source: source)
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
            throw ConfigError(source: source, message: "the file is not valid YAML")
        }
        let context = ConfigContext(source: source, environment: environment)
        var config = try Configuration(
            document: ConfigNode(node: root, path: "", context: context), defaultNode: defaultNodeName(),
            slackWebhook: slackWebhook())
        config.sourceFiles = context.reads.paths
        return config
    }

    /// The seed project's variables: `API_URL_1`…`API_URL_N`, `API_TOKEN`, `POLL_INTERVAL`,
    /// `SLACK_WEBHOOK_URL`. Each URL becomes an endpoint named after the URL, as the seed labelled them.
    public func loadSeedEnvironment() throws(ConfigError) -> Configuration {
        var interval = Duration.seconds(60)
        if let text = environment["POLL_INTERVAL"], !text.isEmpty {
            guard let value = HumanUnits.duration(text), value >= .seconds(1) else {
                throw ConfigError(
                    source: "environment", message: "POLL_INTERVAL must be seconds (60) or a duration (1m) of at least 1s, found \"\(text)\"")
            }
            interval = value
        }
        let token = environment["API_TOKEN"].flatMap { $0.isEmpty ? nil : Secret($0) }
        let agent = AgentConfig(node: defaultNodeName())
        var endpoints: [EndpointConfig] = []
        for (variable, url) in seedURLVariables() {
            if let problem = URLCheck.problem(url) {
                throw ConfigError(source: "environment", message: "\(variable) \(problem)")
            }
            let name = agent.display(url)
            guard !endpoints.contains(where: { $0.name == name }) else {
                throw ConfigError(source: "environment", message: "\(variable) repeats a URL given in another API_URL_ variable")
            }
            endpoints.append(
                EndpointConfig(
                    name: name, url: url, displayURL: name, interval: interval, timeout: min(.seconds(10), interval),
                    authorization: token.map(Authorization.bearer)))
        }
        guard !endpoints.isEmpty else {
            throw ConfigError(source: "environment", message: "API_URL_1 is not set; it names the first URL to probe")
        }
        var outputs = OutputsConfig()
        if let url = environment["PUSHGATEWAY_URL"], !url.isEmpty {
            if let problem = URLCheck.problem(url) {
                throw ConfigError(source: "environment", message: "PUSHGATEWAY_URL \(problem)")
            }
            outputs.pushgateway = PushgatewayConfig(connection: ConnectionConfig(url: url))
        }
        let alerting = slackWebhook().map { webhook in
            AlertingConfig(receivers: [SlackReceiverConfig(name: "slack", webhook: webhook)], groupingWindow: AlertingConfig.grouping(for: endpoints))
        }
        return Configuration(agent: agent, endpoints: endpoints, outputs: outputs, server: ServerConfig(), alerting: alerting)
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

    /// What YAML would refuse in its own words, said in the agent's: NUL bytes and other control
    /// characters, and nesting deeper than any configuration needs.
    static func checkText(_ text: String, source: String) throws(ConfigError) {
        var line = 1
        var column = 1
        var depth = 0
        var deepest = 0
        var tooDeep: (line: Int, column: Int)?
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                line += 1
                column = 1
                continue
            }
            if scalar.value < 0x20 && scalar != "\t" && scalar != "\r" || scalar.value == 0x7f {
                let what = scalar.value == 0 ? "a NUL byte" : "the control character U+\(String(format: "%04X", scalar.value))"
                throw ConfigError(
                    source: source, line: line, column: column,
                    message: "the file contains \(what); a configuration file is plain text (use \\u escapes in quoted strings)")
            }
            // Flow collections are the only way to nest deeply on one line; block nesting is bounded
            // by indentation, which the composer's own depth guard below covers.
            if scalar == "[" || scalar == "{" {
                depth += 1
                deepest = max(deepest, depth)
                if depth == maxDepth + 1, tooDeep == nil { tooDeep = (line, column) }
            } else if scalar == "]" || scalar == "}" {
                depth = max(0, depth - 1)
            }
            column += 1
        }
        if let tooDeep {
            throw ConfigError(
                source: source, line: tooDeep.line, column: tooDeep.column,
                message: "lists and mappings are nested \(deepest) deep here; the agent reads at most \(maxDepth) levels")
        }
    }

    static func syntaxError(_ error: YamlError, source: String) -> ConfigError {
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
        case .reader(_, let offset, _, _):
            return ConfigError(
                source: source, message: "the file has a character YAML does not allow at byte \(offset ?? 0); it must be plain UTF-8 text")
        case .memory:
            return ConfigError(source: source, message: "the file is too large or too deeply nested to parse")
        default:
            return ConfigError(source: source, message: "the file is not valid YAML")
        }
    }
}
