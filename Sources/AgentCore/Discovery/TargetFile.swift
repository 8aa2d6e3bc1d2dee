import Yams

/// A target file in Prometheus' `file_sd` format, JSON or YAML: a list of groups, each with
/// `targets` (`host:port` strings) and optional `labels`. Any tool that writes files for
/// Prometheus writes them for the agent too.
enum TargetFile {
    /// The file's targets, or the first mistake with its line and column.
    ///
    /// Labels starting with `__` are left out, as Prometheus drops them after relabelling
    /// (generators put `__meta_*` hints there); `${VAR}` is not expanded, as in Prometheus.
    static func parse(_ text: String, source: String) throws(ConfigError) -> [DiscoveredTarget] {
        try ConfigLoader.checkText(text, source: source)
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigLoader.syntaxError(error, source: source)
        } catch {
            throw ConfigError(source: source, message: "the file is neither JSON nor YAML")
        }
        // An empty file is an empty list: a generator may truncate before it writes.
        guard let root else { return [] }
        let document = ConfigNode(node: root, path: "", context: ConfigContext(source: source, environment: nil))
        if document.isNull { return [] }
        var targets: [DiscoveredTarget] = []
        for group in try document.sequence() {
            let mapping = try group.mapping(allowed: ["targets", "labels"])
            var labels: [String: String] = [:]
            if let node = mapping["labels"] {
                for (name, keyNode, value) in try node.stringMap() where !name.hasPrefix("__") {
                    if let problem = EndpointLabels.problem(name: name, value: value) { throw keyNode.error("\(node.path): \(problem)") }
                    labels[name] = value
                }
            }
            let groupLabels = EndpointLabels(labels)
            for item in try mapping["targets"]?.sequence() ?? [] {
                let text = try item.nonEmptyString()
                guard let target = DiscoveredTarget(address: text, labels: groupLabels) else {
                    throw item.error("\(item.path) must be host, host:port or [ipv6]:port with a port from 1 to 65535, found \"\(text)\"")
                }
                targets.append(target)
            }
        }
        return targets
    }
}
