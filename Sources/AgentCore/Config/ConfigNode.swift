import Foundation
import Yams

/// A YAML node together with where it came from, so that every typed read can fail with the
/// file, line and column of the offending value.
struct ConfigNode {
    let node: Yams.Node
    /// Dotted path for messages, e.g. `endpoints[2].timeout`; empty for the document itself.
    let path: String
    let context: ConfigContext

    /// How messages name this node: its path, or "the top level" for the document itself.
    var name: String { path.isEmpty ? "the top level" : path }

    func error(_ message: String) -> ConfigError {
        ConfigError(source: context.source, line: node.mark?.line, column: node.mark?.column, message: message)
    }

    var isNull: Bool {
        if case .scalar(let scalar) = node {
            return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
        }
        return false
    }

    /// The node as a mapping that may hold only `allowed` keys. (Yams already rejects repeated keys.)
    func mapping(allowed: [String]) throws(ConfigError) -> ConfigMapping {
        guard case .mapping(let mapping) = node else {
            throw error("\(name) must be a mapping of keys to values, found \(kind)")
        }
        var entries: [String: (key: ConfigNode, value: ConfigNode)] = [:]
        for (key, value) in mapping {
            guard case .scalar(let keyScalar) = key else {
                throw ConfigNode(node: key, path: path, context: context).error("keys of \(name) must be plain names")
            }
            let keyName = keyScalar.string
            let keyNode = ConfigNode(node: key, path: path, context: context)
            guard allowed.contains(keyName) else {
                let hint = ConfigMapping.closest(to: keyName, in: allowed).map { " (did you mean \"\($0)\"?)" } ?? ""
                throw keyNode.error("unknown key \"\(keyName)\" in \(name)\(hint); allowed: \(allowed.joined(separator: ", "))")
            }
            entries[keyName] = (keyNode, ConfigNode(node: value, path: join(keyName), context: context))
        }
        return ConfigMapping(node: self, entries: entries)
    }

    /// A mapping whose keys are free-form (headers, static labels), with string values.
    func stringMap() throws(ConfigError) -> [(key: String, keyNode: ConfigNode, value: String)] {
        try entries().map { entry throws(ConfigError) in (entry.key, entry.keyNode, try entry.value.string()) }
    }

    /// A mapping whose keys are free-form names (unique regardless of case), with any values.
    func entries() throws(ConfigError) -> [(key: String, keyNode: ConfigNode, value: ConfigNode)] {
        guard case .mapping(let mapping) = node else {
            throw error("\(path) must be a mapping of names to values, found \(kind)")
        }
        var seen = Set<String>()
        var result: [(String, ConfigNode, ConfigNode)] = []
        for (key, value) in mapping {
            let keyNode = ConfigNode(node: key, path: path, context: context)
            let name = try keyNode.string()
            guard seen.insert(name.lowercased()).inserted else {
                throw keyNode.error("\"\(name)\" appears twice in \(path)")
            }
            result.append((name, keyNode, ConfigNode(node: value, path: join(name), context: context)))
        }
        return result
    }

    /// Whether the node is a mapping (rather than a scalar or a list).
    var isMapping: Bool {
        if case .mapping = node { return true }
        return false
    }

    func sequence() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else {
            throw error("\(path) must be a list, found \(kind)")
        }
        return sequence.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]", context: context) }
    }

    /// The scalar's text after `${VAR}` expansion.
    func string() throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node, !isNull else {
            throw error("\(path) must be a text value, found \(kind)")
        }
        guard let environment = context.environment else { return scalar.string }
        do {
            return try EnvironmentExpansion.expand(scalar.string, environment: environment)
        } catch .undefined(let name) {
            throw error("\(path) uses ${\(name)}, which is not set; set it or write ${\(name):-default}")
        } catch {
            throw self.error("\(path) has a \"${\" without its closing \"}\"")
        }
    }

    func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let text = try string()
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw error("\(path) must be a whole number from \(range.lowerBound) to \(range.upperBound), found \"\(text)\"")
        }
        return value
    }

    func bool() throws(ConfigError) -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let text: throw error("\(path) must be true or false, found \"\(text)\"")
        }
    }

    func duration() throws(ConfigError) -> Duration {
        let text = try string()
        guard let value = HumanUnits.duration(text) else {
            throw error("\(path) must be a duration such as 250ms, 30s or 5m, found \"\(text)\"")
        }
        return value
    }

    /// A duration that must be above zero, as intervals and timeouts are.
    func positiveDuration() throws(ConfigError) -> Duration {
        let value = try duration()
        guard value > .zero else { throw error("\(path) must be longer than 0s") }
        return value
    }

    /// A URL the agent talks to: one of `schemes`, a host, a port from 1 to 65535, and no
    /// whitespace or control characters (a NUL byte would cut the URL short inside libcurl).
    /// The URL is never echoed: it may carry credentials.
    func url(schemes: [String] = ["http", "https"]) throws(ConfigError) -> String {
        let text = try string()
        if let problem = URLCheck.problem(text, schemes: schemes) { throw error("\(path) \(problem)") }
        return text
    }

    /// An endpoint's URL: http(s), or `tcp://host:port` / `tls://host:port` (`ProbeKind`).
    func probeURL() throws(ConfigError) -> String {
        let text = try string()
        if let problem = ProbeKind.problem(text) { throw error("\(path) \(problem)") }
        return text
    }

    func byteSize() throws(ConfigError) -> Int {
        let text = try string()
        guard let value = HumanUnits.byteSize(text) else {
            throw error("\(path) must be a size such as 64KiB or 512MiB, found \"\(text)\"")
        }
        return value
    }

    /// One of a fixed set of words.
    func choice<T>(_ options: [(String, T)]) throws(ConfigError) -> T {
        let text = try string()
        guard let match = options.first(where: { $0.0 == text }) else {
            throw error("\(path) must be one of \(options.map(\.0).joined(separator: ", ")), found \"\(text)\"")
        }
        return match.1
    }

    /// The contents of the file named by this scalar, for `*_file` secrets mounted from Kubernetes
    /// Secrets. One trailing newline is dropped, as editors and `kubectl create secret` add one.
    func secretFile() throws(ConfigError) -> Secret {
        var text = try textFile()
        if text.hasSuffix("\r\n") { text.removeLast(2) } else if text.hasSuffix("\n") { text.removeLast() }
        return Secret(text)
    }

    /// The text of the file named by this scalar (`body_file`), as it is; a reload on change
    /// watches it.
    func textFile() throws(ConfigError) -> String {
        let filePath = try string()
        context.reads.record(filePath)
        guard let data = FileManager.default.contents(atPath: filePath) else {
            throw error("\(path): cannot read file \"\(filePath)\" (missing or not readable by this user)")
        }
        guard data.count <= ConfigLoader.maxFileBytes else {
            throw error("\(path): file \"\(filePath)\" has \(data.count) bytes; at most \(ConfigLoader.maxFileBytes) are read")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The path in this scalar, checked to be a readable file now rather than at the first probe.
    func readableFile() throws(ConfigError) -> String {
        let filePath = try string()
        context.reads.record(filePath)
        guard FileManager.default.isReadableFile(atPath: filePath) else {
            throw error("\(path): cannot read file \"\(filePath)\" (missing or not readable by this user)")
        }
        return filePath
    }

    private var kind: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar: return isNull ? "nothing" : "a single value"
        }
    }

    private func join(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }
}

/// The checked keys of one YAML mapping.
struct ConfigMapping {
    let node: ConfigNode
    fileprivate let entries: [String: (key: ConfigNode, value: ConfigNode)]

    /// The value under `key`, or nil when the key is absent or explicitly empty.
    subscript(key: String) -> ConfigNode? {
        guard let value = entries[key]?.value, !value.isNull else { return nil }
        return value
    }

    func required(_ key: String) throws(ConfigError) -> ConfigNode {
        guard let value = self[key] else { throw node.error("\(node.name) needs \"\(key)\"") }
        return value
    }

    /// Suggests the allowed key a typo most likely meant (edit distance of at most 2).
    static func closest(to name: String, in allowed: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var previous = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var current = [i + 1]
                for (j, y) in b.enumerated() {
                    current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
                }
                previous = current
            }
            return previous[b.count]
        }
        let candidates = allowed.map { ($0, distance(Array(name), Array($0))) }.filter { $0.1 <= 2 }
        return candidates.min { $0.1 < $1.1 }?.0
    }
}

/// What every node of one config document shares: where it was read from and the environment
/// used for `${VAR}` expansion.
struct ConfigContext {
    let source: String
    /// nil: `${VAR}` is left as written (target files, which Prometheus does not expand either).
    let environment: [String: String]?
    let reads = FileReads()
}

/// The files a configuration read besides its own (secrets, certificates): what a reload on
/// change must watch. Lives for one synchronous parse.
final class FileReads {
    private(set) var paths: [String] = []

    func record(_ path: String) {
        if !paths.contains(path) { paths.append(path) }
    }
}
