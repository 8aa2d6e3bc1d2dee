import Foundation

/// The HTTP status codes that count as success, written as codes and ranges (`200`, `200-299`, `2xx`).
public struct StatusCodeSet: Sendable, Equatable, CustomStringConvertible {
    public var ranges: [ClosedRange<Int>]

    public init(_ ranges: [ClosedRange<Int>]) {
        self.ranges = ranges
    }

    public static let success = StatusCodeSet([200...299])

    public func contains(_ code: Int) -> Bool {
        ranges.contains { $0.contains(code) }
    }

    /// Parses one list item; nil when it is not a code or range between 100 and 599.
    public static func parseItem(_ text: String) -> ClosedRange<Int>? {
        let valid = 100...599
        if text.count == 3, text.hasSuffix("xx"), let hundred = Int(text.prefix(1)), valid.contains(hundred * 100) {
            return hundred * 100...hundred * 100 + 99
        }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...2).contains(parts.count), let low = Int(parts[0]), let high = Int(parts.last!),
            valid.contains(low), valid.contains(high), low <= high
        else { return nil }
        return low...high
    }

    public var description: String {
        ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }
}

extension StatusCodeSet {
    /// `expected_status`: one item or a list of codes, ranges and classes.
    init(_ node: ConfigNode) throws(ConfigError) {
        let items = (try? node.sequence()) ?? [node]
        var ranges: [ClosedRange<Int>] = []
        for item in items {
            let text = try item.string()
            guard let range = StatusCodeSet.parseItem(text) else {
                throw item.error(
                    "\(item.path) must be a status code (200), a range (200-299) or a class (2xx) within 100-599, "
                        + "found \"\(text)\"")
            }
            ranges.append(range)
        }
        guard !ranges.isEmpty else { throw node.error("\(node.path) must list at least one status code") }
        self.init(ranges)
    }
}
