import Foundation

/// One Slack message for a group of transitions: blocks for people, `text` as the notification
/// fallback. Ten endpoints going down together make one message listing all ten; a storm of a
/// thousand lists the first `listed` and counts the rest by rule, within Slack's size limits.
public enum SlackMessage {
    /// Fits Slack's 3,000 characters per section with room for long names and errors.
    static let listed = 15

    /// - Parameter labels: the endpoints' labels, shown beside their names (`team=payments`).
    public static func body(
        for events: [AlertEvent], node: String, link: String?, labels: [String: EndpointLabels] = [:]
    ) -> [UInt8] {
        let firing = events.filter { $0.kind != .resolved }
        let resolved = events.filter { $0.kind == .resolved }
        var headline: [String] = []
        if !firing.isEmpty { headline.append("🔴 \(firing.count) firing") }
        if !resolved.isEmpty { headline.append("✅ \(resolved.count) resolved") }
        let title = "\(headline.joined(separator: ", ")) on \(node)"
        var lines: [String] = []
        for event in events.prefix(listed) {
            let since = event.since.rfc3339.prefix(19) + "Z"
            let tags = labels[event.endpoint].map { $0.isEmpty ? "" : " (\($0.description))" } ?? ""
            var line: String
            switch event.kind {
            case .firing, .reminder:
                line = "*\(event.kind == .reminder ? "Still firing" : "Firing")* `\(event.rule.rawValue)` *\(event.endpoint)*\(tags): "
                    + "\(event.value) (threshold \(event.threshold)), since \(since)"
                if let error = event.lastError, event.rule == .down || event.rule == .errorRate || event.rule == .uptime {
                    line += "\n> last error: \(error.prefix(300))"
                }
            case .resolved:
                line = "*Resolved* `\(event.rule.rawValue)` *\(event.endpoint)*\(tags): \(event.value) after "
                    + duration(event.at - event.since) + " (since \(since))"
            }
            if let link {
                let url = link.replacingOccurrences(of: "{endpoint}", with: percentEncoded(event.endpoint))
                    .replacingOccurrences(of: "{node}", with: percentEncoded(node))
                line += " <\(url)|dashboard>"
            }
            lines.append(line)
        }
        if events.count > listed {
            let rest = Dictionary(grouping: events.dropFirst(listed)) { "\($0.kind.rawValue) \($0.rule.rawValue)" }
            lines.append("…and \(events.count - listed) more: " + rest.keys.sorted().map { "\(rest[$0]!.count) \($0)" }.joined(separator: ", "))
        }
        let blocks: [[String: Any]] = [
            ["type": "header", "text": ["type": "plain_text", "text": String(title.prefix(150))]],
            ["type": "section", "text": ["type": "mrkdwn", "text": String(lines.joined(separator: "\n").prefix(2900))]],
            ["type": "context", "elements": [["type": "mrkdwn", "text": "latency-agent on `\(node)`"]]],
        ]
        let named = events.prefix(listed).map { "\($0.kind.rawValue) \($0.rule.rawValue) \($0.endpoint) (\($0.value))" }
        let fallback = title + ": " + named.joined(separator: "; ") + (events.count > listed ? "; …and \(events.count - listed) more" : "")
        let object: [String: Any] = ["text": fallback, "blocks": blocks]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    static func duration(_ value: Duration) -> String {
        let seconds = max(0, value.components.seconds)
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3600 { return "\(seconds / 60) min \(seconds % 60) s" }
        return "\(seconds / 3600) h \(seconds % 3600 / 60) min"
    }

    private static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? text
    }
}
