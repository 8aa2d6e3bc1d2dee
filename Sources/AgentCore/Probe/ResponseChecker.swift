import Foundation

/// Checks an answer whose status passed against the rest of what its endpoint asks, in the order
/// a person reads it: too slow first (it says nothing about the body), then the headers, then
/// `body_match`, the patterns the body must not match, and the JSON conditions. Bodies are read
/// as UTF-8 with invalid bytes replaced, so matching stays total on binary responses. Pure, so
/// every rule is tested without a server.
struct ResponseChecker {
    private let conditions: ResponseConditions
    private let bodyMatch: BodyMatch?
    private let bodyMatchRegex: Regex<AnyRegexOutput>?
    private let forbidden: [(pattern: String, regex: Regex<AnyRegexOutput>)]
    private let headerRules: [(condition: HeaderCondition, regex: Regex<AnyRegexOutput>)]
    private let jsonPatterns: [String: Regex<AnyRegexOutput>]

    init(_ conditions: ResponseConditions, bodyMatch: BodyMatch? = nil) {
        self.conditions = conditions
        self.bodyMatch = bodyMatch
        // Patterns were validated when the config was loaded.
        if case .regex(let pattern) = bodyMatch { bodyMatchRegex = try? Regex(pattern) } else { bodyMatchRegex = nil }
        forbidden = conditions.failIfBodyMatches.compactMap { pattern in (try? Regex(pattern)).map { (pattern, $0) } }
        headerRules = conditions.headers.compactMap { rule in (try? Regex(rule.pattern)).map { (rule, $0) } }
        var jsonPatterns: [String: Regex<AnyRegexOutput>] = [:]
        for condition in conditions.json where condition.comparison == .matches {
            if let pattern = condition.operands.first, let regex = try? Regex(pattern) { jsonPatterns[pattern] = regex }
        }
        self.jsonPatterns = jsonPatterns
    }

    var readsBody: Bool { bodyMatch != nil || conditions.readsBody }

    /// - Parameter header: every value of a response header, by name.
    func failure(body: [UInt8], total: Duration, header: (String) -> [String] = { _ in [] }) -> ProbeFailure? {
        if let limit = conditions.maxDuration, total > limit {
            return ProbeFailure(reason: .tooSlow, message: "took \(HumanUnits.format(total)), over max_duration \(HumanUnits.format(limit))")
        }
        for (rule, regex) in headerRules {
            let values = header(rule.header)
            let matching = values.first { $0.contains(regex) }
            if rule.mustMatch, values.isEmpty, !rule.allowMissing {
                return ProbeFailure(reason: .headerMismatch, message: "response has no \(rule.header) header (fail_if_header_not_matches)")
            }
            if rule.mustMatch, !values.isEmpty, matching == nil {
                return ProbeFailure(
                    reason: .headerMismatch,
                    message: "\(rule.header): \(String(values[0].prefix(80))) does not match /\(rule.pattern)/ (fail_if_header_not_matches)")
            }
            if !rule.mustMatch, let matching {
                return ProbeFailure(
                    reason: .headerMismatch, message: "\(rule.header): \(String(matching.prefix(80))) matches /\(rule.pattern)/ (fail_if_header_matches)")
            }
        }
        guard readsBody else { return nil }
        let text = String(decoding: body, as: UTF8.self)
        switch bodyMatch {
        case .contains(let needle) where !needle.isEmpty && !text.contains(needle):
            return ProbeFailure(reason: .bodyMismatch, message: "response body does not contain \"\(needle)\"")
        case .regex(let pattern) where !(bodyMatchRegex.map { text.contains($0) } ?? false):
            return ProbeFailure(reason: .bodyMismatch, message: "response body does not match /\(pattern)/")
        default:
            break
        }
        if let match = forbidden.first(where: { text.contains($0.regex) }) {
            return ProbeFailure(reason: .bodyMismatch, message: "response body matches /\(match.pattern)/ (fail_if_body_matches)")
        }
        guard !conditions.json.isEmpty else { return nil }
        guard let document = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) else {
            return ProbeFailure(reason: .condition, message: "response body is not JSON, so \(conditions.json[0]) cannot hold")
        }
        for condition in conditions.json {
            if let problem = check(condition, in: document) { return ProbeFailure(reason: .condition, message: problem) }
        }
        return nil
    }

    /// Why `condition` does not hold, or nil when it does.
    private func check(_ condition: JSONCondition, in document: Any) -> String? {
        guard let value = Self.value(at: condition.steps, in: document) else { return "\(condition.path) is missing (\(condition))" }
        let text = Self.text(value)
        let holds: Bool
        switch condition.comparison {
        case .equals: holds = Self.same(text, condition.operands[0])
        case .notEquals: holds = !Self.same(text, condition.operands[0])
        case .oneOf: holds = condition.operands.contains { Self.same(text, $0) }
        case .lessThan, .greaterThan:
            guard let number = value as? NSNumber, !Self.isBoolean(number), let bound = Double(condition.operands[0]) else {
                return "\(condition.path) is \(Self.quoted(value)), not a number (\(condition))"
            }
            holds = condition.comparison == .lessThan ? number.doubleValue < bound : number.doubleValue > bound
        case .matches:
            holds = jsonPatterns[condition.operands[0]].map { text.contains($0) } ?? false
        }
        return holds ? nil : "\(condition.path) is \(Self.quoted(value)), wanted \(condition.wanted)"
    }

    static func value(at steps: [JSONPath.Step], in document: Any) -> Any? {
        var current: Any = document
        for step in steps {
            switch step {
            case .key(let key):
                guard let object = current as? [String: Any], let next = object[key] else { return nil }
                current = next
            case .index(let index):
                guard let list = current as? [Any], index < list.count else { return nil }
                current = list[index]
            }
        }
        return current
    }

    /// A JSON value as the text a condition compares: strings as they are, numbers without a
    /// trailing `.0`, `true`/`false`, `null`, and objects or lists as compact JSON.
    static func text(_ value: Any) -> String {
        switch value {
        case let string as String: return string
        case let number as NSNumber where isBoolean(number): return number.boolValue ? "true" : "false"
        case let number as NSNumber:
            let double = number.doubleValue
            return double == double.rounded() && abs(double) < 1e15 ? String(Int64(double)) : "\(double)"
        case is NSNull: return "null"
        default:
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
            return data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
        }
    }

    /// JSON's true and false arrive as NSNumbers too; their type code is a char, a number's never is.
    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    /// Equal as text, or as numbers when both are numbers (`1` equals `1.0`).
    private static func same(_ text: String, _ operand: String) -> Bool {
        if text == operand { return true }
        if let left = Double(text), let right = Double(operand) { return left == right }
        return false
    }

    private static func quoted(_ value: Any) -> String {
        let text = text(value)
        return value is String ? "\"\(text.prefix(80))\"" : String(text.prefix(80))
    }
}
