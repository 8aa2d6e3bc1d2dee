import Foundation

/// Conditions a successful-looking answer must also meet, beyond its status: a JSON health body
/// that says `{"status":"DOWN"}` with 200, an error page that matches a pattern, an answer that
/// came too late. Each failed condition is its own failure reason, so an alert says why.
public struct ResponseConditions: Sendable, Equatable {
    /// JSON body conditions (`conditions:`), all of which must hold.
    public var json: [JSONCondition] = []
    /// Patterns the body must not match (`fail_if_body_matches`, as blackbox's key).
    public var failIfBodyMatches: [String] = []
    /// Response header rules (`fail_if_header_matches`, `fail_if_header_not_matches`).
    public var headers: [HeaderCondition] = []
    /// Slower than this fails the probe as `too_slow` (`max_duration`).
    public var maxDuration: Duration?

    public init(
        json: [JSONCondition] = [], failIfBodyMatches: [String] = [], headers: [HeaderCondition] = [], maxDuration: Duration? = nil
    ) {
        self.json = json
        self.failIfBodyMatches = failIfBodyMatches
        self.headers = headers
        self.maxDuration = maxDuration
    }

    var readsBody: Bool { !json.isEmpty || !failIfBodyMatches.isEmpty }

    static let keys = ["conditions", "fail_if_body_matches", "fail_if_header_matches", "fail_if_header_not_matches", "max_duration"]

    /// What an endpoint (or `defaults`) names; each key that is absent is nil, so an endpoint's
    /// list replaces the defaults' list and an absent one inherits it.
    struct Keys {
        var json: [JSONCondition]?
        var failIfBodyMatches: [String]?
        var headers: [HeaderCondition]?
        var maxDuration: Duration?
        /// The body and header keys as written, for an error that points at one the kind cannot use.
        var written: [(key: String, node: ConfigNode)] = []

        /// The endpoint's keys over the defaults', keeping only what a `kind` probe can check: the
        /// defaults' body rules do not reach a TCP probe, and an endpoint's own are refused.
        func over(_ defaults: Keys, for kind: ProbeKind, endpoint name: String) throws(ConfigError) -> ResponseConditions {
            if let (key, node) = written.first(where: { !ResponseConditions.applies($0.key, to: kind) }) {
                throw node.error(
                    "endpoint \"\(name)\": \(node.path) checks an HTTP \(key.contains("header") ? "response's headers" : "body"), "
                        + "which a \(kind.rawValue) probe does not have; it applies to http(s)://\(key.contains("header") ? " and grpc(s)://" : "") endpoints")
            }
            let merged = ResponseConditions(
                json: json ?? defaults.json ?? [], failIfBodyMatches: failIfBodyMatches ?? defaults.failIfBodyMatches ?? [],
                headers: headers ?? defaults.headers ?? [], maxDuration: maxDuration ?? defaults.maxDuration)
            return ResponseConditions(
                json: Self.keep(merged.json, "conditions", kind), failIfBodyMatches: Self.keep(merged.failIfBodyMatches, "fail_if_body_matches", kind),
                headers: Self.keep(merged.headers, "fail_if_header_matches", kind), maxDuration: merged.maxDuration)
        }

        private static func keep<T>(_ values: [T], _ key: String, _ kind: ProbeKind) -> [T] {
            ResponseConditions.applies(key, to: kind) ? values : []
        }
    }

    /// Body rules need an HTTP body; header rules an HTTP or gRPC response; `max_duration` fits all.
    static func applies(_ key: String, to kind: ProbeKind) -> Bool {
        switch key {
        case "conditions", "fail_if_body_matches": return kind == .http
        case "fail_if_header_matches", "fail_if_header_not_matches": return kind == .http || kind == .grpc
        default: return true
        }
    }

    static func parse(_ mapping: ConfigMapping) throws(ConfigError) -> Keys {
        let json = try mapping["conditions"].map { node throws(ConfigError) in
            try node.sequence().map { item throws(ConfigError) in try JSONCondition(item) }
        }
        let patterns = try mapping["fail_if_body_matches"].map { node throws(ConfigError) in
            try node.sequence().map { item throws(ConfigError) in try item.regexPattern() }
        }
        var headers: [HeaderCondition]?
        for (key, mustMatch) in [("fail_if_header_matches", false), ("fail_if_header_not_matches", true)] {
            guard let node = mapping[key] else { continue }
            headers = (headers ?? []) + (try node.sequence().map { item throws(ConfigError) in try HeaderCondition(item, mustMatch: mustMatch) })
        }
        return Keys(
            json: json, failIfBodyMatches: patterns, headers: headers, maxDuration: try mapping["max_duration"]?.positiveDuration(),
            written: keys.filter { $0 != "max_duration" }.compactMap { key in mapping[key].map { (key, $0) } })
    }
}

/// A rule on one response header, as blackbox writes it: with `fail_if_header_matches` the probe
/// fails when any value matches (a missing header passes); with `fail_if_header_not_matches` it
/// fails when no value matches, and a missing header fails unless `allow_missing: true`.
public struct HeaderCondition: Sendable, Equatable {
    public var header: String
    public var pattern: String
    public var mustMatch: Bool
    public var allowMissing: Bool

    public init(header: String, pattern: String, mustMatch: Bool, allowMissing: Bool = false) {
        self.header = header
        self.pattern = pattern
        self.mustMatch = mustMatch
        self.allowMissing = allowMissing
    }

    init(_ node: ConfigNode, mustMatch: Bool) throws(ConfigError) {
        let mapping = try node.mapping(allowed: ["header", "regex", "allow_missing"])
        guard let header = mapping["header"], let regex = mapping["regex"] else {
            throw node.error("\(node.path) needs \"header\" (a response header name) and \"regex\"")
        }
        self.init(
            header: try header.nonEmptyString(), pattern: try regex.regexPattern(), mustMatch: mustMatch,
            allowMissing: try mapping["allow_missing"]?.bool() ?? false)
    }
}

/// One condition on a JSON body: the value at `path` compared with `operand`.
public struct JSONCondition: Sendable, Equatable, CustomStringConvertible {
    public enum Comparison: String, Sendable, Equatable, CaseIterable {
        case equals, notEquals = "not_equals", lessThan = "less_than", greaterThan = "greater_than", oneOf = "in", matches
    }

    /// `$.status`, `checks[0].state`: keys and list indexes from the top of the document.
    public var path: String
    public var steps: [JSONPath.Step]
    public var comparison: Comparison
    /// One value, or several for `in`; numbers compare as numbers.
    public var operands: [String]

    public var description: String { "\(path) \(wanted)" }

    /// What the condition asks for, as messages say it: `equals UP`, `in [UP, OK]`.
    var wanted: String {
        "\(comparison.rawValue) " + (comparison == .oneOf ? "[\(operands.joined(separator: ", "))]" : (operands.first ?? ""))
    }

    public init(path: String, comparison: Comparison, operands: [String]) throws(JSONPath.Invalid) {
        self.path = path
        self.steps = try JSONPath.steps(path)
        self.comparison = comparison
        self.operands = operands
    }

    init(_ node: ConfigNode) throws(ConfigError) {
        let keys = ["json"] + Comparison.allCases.map(\.rawValue)
        let mapping = try node.mapping(allowed: keys)
        guard let pathNode = mapping["json"] else {
            throw node.error("\(node.path) needs \"json\": the path of the value to check, such as $.status")
        }
        let given = Comparison.allCases.filter { mapping[$0.rawValue] != nil }
        guard given.count == 1, let comparison = given.first, let operandNode = mapping[comparison.rawValue] else {
            throw node.error(
                "\(node.path) needs exactly one of \(Comparison.allCases.map(\.rawValue).joined(separator: ", ")) next to \"json\"")
        }
        var operands: [String]
        switch comparison {
        case .oneOf:
            operands = try operandNode.sequence().map { item throws(ConfigError) in try item.string() }
        case .matches:
            operands = [try operandNode.regexPattern()]
        case .lessThan, .greaterThan:
            let text = try operandNode.string()
            guard Double(text) != nil else { throw operandNode.error("\(operandNode.path) must be a number, found \"\(text)\"") }
            operands = [text]
        case .equals, .notEquals:
            operands = [try operandNode.string()]
        }
        let path = try pathNode.string()
        do throws(JSONPath.Invalid) {
            try self.init(path: path, comparison: comparison, operands: operands)
        } catch {
            throw pathNode.error("\(pathNode.path): \(error.reason)")
        }
    }
}

/// The small path language of `conditions`: `$` (optional), then `.key` or `[index]` steps, or
/// `["key with dots"]`.
public enum JSONPath {
    public enum Step: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    public struct Invalid: Error {
        var reason: String
    }

    static func steps(_ path: String) throws(Invalid) -> [Step] {
        var rest = Substring(path.trimmingCharacters(in: .whitespaces))
        if rest.hasPrefix("$") { rest = rest.dropFirst() }
        var steps: [Step] = []
        var first = true
        while !rest.isEmpty {
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { throw Invalid(reason: "\"[\" without \"]\" in \(path)") }
                let inside = rest[rest.index(after: rest.startIndex)..<close]
                if let index = Int(inside), index >= 0 {
                    steps.append(.index(index))
                } else if inside.count >= 2, inside.first == "\"" || inside.first == "'", inside.last == inside.first {
                    steps.append(.key(String(inside.dropFirst().dropLast())))
                } else {
                    throw Invalid(reason: "[\(inside)] in \(path) must be a list index such as [0] or a quoted key such as [\"a.b\"]")
                }
                rest = rest[rest.index(after: close)...]
            } else {
                if rest.hasPrefix(".") {
                    rest = rest.dropFirst()
                } else if !first {
                    throw Invalid(reason: "expected \".\" or \"[\" at \"\(rest)\" in \(path)")
                }
                let end = rest.firstIndex { $0 == "." || $0 == "[" } ?? rest.endIndex
                let key = rest[..<end]
                guard !key.isEmpty else { throw Invalid(reason: "an empty key in \(path)") }
                steps.append(.key(String(key)))
                rest = rest[end...]
            }
            first = false
        }
        guard !steps.isEmpty else { throw Invalid(reason: "the path names no value; write it as $.status or checks[0].state") }
        return steps
    }
}

extension ConfigNode {
    /// A regular expression, checked now so a probe never meets an invalid one.
    func regexPattern() throws(ConfigError) -> String {
        let pattern = try string()
        do {
            _ = try Regex(pattern)
        } catch {
            throw self.error("\(path) is not a valid regular expression: \(error)")
        }
        return pattern
    }
}
