import Foundation

/// The `alerting` section: alerting without Alertmanager. The rules themselves are settled onto
/// each endpoint when the file is loaded (`EndpointConfig.alertRules`); this holds when
/// notifications are held back and where they go.
public struct AlertingConfig: Sendable, Equatable {
    /// `alerting.rules`: the defaults every endpoint starts from.
    public var rules: AlertRulesConfig
    public var maintenance: [MaintenanceWindow]
    public var receivers: [SlackReceiverConfig]
    /// Transitions this close together go out as one message.
    public var groupingWindow: Duration
    /// While an alert fires, repeat it this often; nil: never.
    public var remindEvery: Duration?

    public init(
        rules: AlertRulesConfig = .init(), maintenance: [MaintenanceWindow] = [], receivers: [SlackReceiverConfig] = [],
        groupingWindow: Duration = .seconds(10), remindEvery: Duration? = nil
    ) {
        self.rules = rules
        self.maintenance = maintenance
        self.receivers = receivers
        self.groupingWindow = groupingWindow
        self.remindEvery = remindEvery
    }

    static let keys = ["rules", "maintenance", "slack", "grouping_window", "remind_every"]

    /// The default grouping window: the longest probe interval (at most a minute). Probes are
    /// spread over their interval, so an outage of many endpoints is detected within one interval;
    /// waiting that long makes it one message, and delivers within an interval of the first.
    public static func grouping(for endpoints: [EndpointConfig]) -> Duration {
        min(.seconds(60), endpoints.map(\.interval).max() ?? .seconds(10))
    }

    public func inMaintenance(at time: Timestamp) -> Bool { maintenance.contains { $0.contains(time) } }

    /// The rules part alone, read before the endpoints (which start from them).
    static func rules(_ mapping: ConfigMapping?) throws(ConfigError) -> AlertRulesConfig {
        guard let node = mapping?["rules"] else { return AlertRulesConfig() }
        return try AlertRulesConfig().overridden(by: node.mapping(allowed: AlertRulesConfig.keys))
    }

    /// - Parameters:
    ///   - webhook: `SLACK_WEBHOOK_URL`, used when the section names no receiver.
    ///   - endpoints: the endpoints loaded, which receivers may filter on.
    init(
        _ mapping: ConfigMapping?, rules: AlertRulesConfig, webhook: Secret?, endpoints: [EndpointConfig]
    ) throws(ConfigError) {
        self.init(rules: rules, groupingWindow: Self.grouping(for: endpoints))
        if let window = try mapping?["grouping_window"]?.positiveDuration() { groupingWindow = window }
        remindEvery = try mapping?["remind_every"]?.positiveDuration()
        if let list = mapping?["maintenance"] {
            maintenance = try list.sequence().map { node throws(ConfigError) in try MaintenanceWindow(node) }
        }
        let names = Set(endpoints.map(\.name))
        for item in try mapping?["slack"]?.sequence() ?? [] {
            let receiver = try SlackReceiverConfig(item, endpoints: names)
            guard !receivers.contains(where: { $0.name == receiver.name }) else {
                throw item.error("\(item.path): receiver name \"\(receiver.name)\" is used twice")
            }
            receivers.append(receiver)
        }
        if receivers.isEmpty, let webhook {
            receivers.append(SlackReceiverConfig(name: "slack", webhook: webhook))
        }
    }

    var secrets: [String] { receivers.flatMap { SecretScrubber.urlSecrets($0.webhook.exposedValue) } }
}

/// The thresholds of one endpoint. Defaults are the seed project's (latency over 1 s, error rate
/// over 5 %, uptime under 90 %) and Gatus' (3 failures to fire, 2 successes to resolve).
public struct AlertRulesConfig: Sendable, Equatable {
    /// Consecutive failed probes that fire `down`.
    public var failures = 3
    /// Consecutive good probes (or good window evaluations) that resolve an alert.
    public var recoveries = 2
    /// Consecutive probes slower than `slowAbove` that fire `slow`.
    public var slowProbes = 3
    /// The endpoint's `latency_threshold`, 1 s when it has none.
    public var slowAbove: Duration = .seconds(1)
    public var window: Duration = .seconds(300)
    /// Window rules wait for this many probes in the window.
    public var minProbes = 5
    public var quantile = 0.95
    public var quantileAbove: Duration? = .seconds(1)
    /// Percent.
    public var errorRateAbove: Double? = 5
    /// Percent.
    public var uptimeBelow: Double? = 90
    public var certificateExpiresWithin: Duration? = .seconds(14 * 86_400)
    /// While `down` fires for an endpoint, its window rules (latency, error_rate, uptime) are held
    /// back, as Alertmanager's inhibit rules would: one outage, one alert. A window rule waits
    /// while failures mount towards `down` (at most `failures - 1` probes), and one that breached
    /// during the outage stays silent to its resolution.
    public var inhibitWindowRulesWhileDown = true

    public init() {}

    public static let keys = [
        "failures", "recoveries", "slow_probes", "window", "min_probes", "quantile", "quantile_above", "error_rate_above",
        "uptime_below", "certificate_expires_within", "inhibit_while_down",
    ]

    /// These rules with what `mapping` sets on top; `off` turns a threshold off.
    func overridden(by mapping: ConfigMapping) throws(ConfigError) -> AlertRulesConfig {
        var rules = self
        if let node = mapping["failures"] { rules.failures = try node.int(in: 1...1000) }
        if let node = mapping["recoveries"] { rules.recoveries = try node.int(in: 1...1000) }
        if let node = mapping["slow_probes"] { rules.slowProbes = try node.int(in: 1...1000) }
        if let node = mapping["window"] { rules.window = try node.positiveDuration() }
        if let node = mapping["min_probes"] { rules.minProbes = try node.int(in: 1...100_000) }
        if let node = mapping["quantile"] {
            let text = try node.string()
            guard let value = Double(text), value > 0, value < 1 else { throw node.error("\(node.path) must be between 0 and 1, such as 0.95") }
            rules.quantile = value
        }
        if let node = mapping["quantile_above"] { rules.quantileAbove = try node.isOff() ? nil : node.positiveDuration() }
        if let node = mapping["error_rate_above"] { rules.errorRateAbove = try node.isOff() ? nil : node.percent() }
        if let node = mapping["uptime_below"] { rules.uptimeBelow = try node.isOff() ? nil : node.percent() }
        if let node = mapping["certificate_expires_within"] {
            rules.certificateExpiresWithin = try node.isOff() ? nil : node.positiveDuration()
        }
        if let node = mapping["inhibit_while_down"] { rules.inhibitWindowRulesWhileDown = try node.bool() }
        return rules
    }
}

/// A time when notifications are held back (measurement and evaluation go on).
public enum MaintenanceWindow: Sendable, Equatable {
    /// From `start` to `end`.
    case once(start: Timestamp, end: Timestamp)
    /// Every week on `weekday` (0 = Sunday) from `startMinute` to `endMinute` after midnight UTC.
    case weekly(weekday: Int, startMinute: Int, endMinute: Int)

    public func contains(_ time: Timestamp) -> Bool {
        switch self {
        case .once(let start, let end):
            return time >= start && time < end
        case .weekly(let weekday, let startMinute, let endMinute):
            let dayOfWeek = Int((time.daysSinceEpoch + 4) % 7 + 7) % 7  // 1970-01-01 was a Thursday
            let minute = Int((time - time.truncated(to: .seconds(86_400))).components.seconds / 60)
            return dayOfWeek == weekday && minute >= startMinute && minute < endMinute
        }
    }

    /// `{from: 2026-12-01T02:00:00Z, to: …}` once, or `{every: sunday, from: "02:00", to: "03:00"}` (UTC).
    init(_ node: ConfigNode) throws(ConfigError) {
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
            self = .weekly(weekday: weekday, startMinute: start, endMinute: end)
            return
        }
        func instant(_ node: ConfigNode) throws(ConfigError) -> Timestamp {
            let text = try node.string()
            guard let date = ISO8601DateFormatter().date(from: text) else {
                throw node.error("\(node.path) must be a UTC time such as 2026-12-01T02:00:00Z, found \"\(text)\"")
            }
            return Timestamp(unixSeconds: Int64(date.timeIntervalSince1970))
        }
        let start = try instant(fromNode)
        let end = try instant(toNode)
        guard start < end else { throw toNode.error("\(toNode.path) must be after from") }
        self = .once(start: start, end: end)
    }
}

/// A Slack incoming webhook and which endpoints' alerts it gets.
public struct SlackReceiverConfig: Sendable, Equatable {
    public var name: String
    public var webhook: Secret
    /// Endpoint names this receiver gets; nil: all.
    public var endpoints: Set<String>?
    /// Only endpoints carrying every one of these labels (`team: payments`); empty: any.
    public var matchLabels = EndpointLabels()
    /// A link added to each message; `{endpoint}` and `{node}` are replaced.
    public var link: String?
    public var timeout: Duration

    public init(name: String, webhook: Secret, endpoints: Set<String>? = nil, link: String? = nil, timeout: Duration = .seconds(10)) {
        self.name = name
        self.webhook = webhook
        self.endpoints = endpoints
        self.link = link
        self.timeout = timeout
    }

    public var readerName: ReaderName { .receiver(.slack, name) }

    init(_ item: ConfigNode, endpoints known: Set<String>) throws(ConfigError) {
        let receiver = try item.mapping(allowed: ["name", "webhook_url", "webhook_url_file", "endpoints", "match_labels", "link", "timeout"])
        let name = try receiver["name"]?.nonEmptyString() ?? "slack"
        let secret: Secret
        switch (receiver["webhook_url"], receiver["webhook_url_file"]) {
        case (let inline?, nil): secret = Secret(try inline.string())
        case (nil, let file?): secret = try file.secretFile()
        default: throw item.error("\(item.path) needs exactly one of \"webhook_url\" or \"webhook_url_file\"")
        }
        // The URL is not shown: it is a secret.
        if let problem = URLCheck.problem(secret.exposedValue) {
            throw item.error("\(item.path): the webhook URL \(problem) (it is not shown: it is a secret)")
        }
        var endpoints: Set<String>?
        if let list = receiver["endpoints"] {
            endpoints = []
            for entry in try list.sequence() {
                let endpoint = try entry.string()
                guard known.contains(endpoint) else { throw entry.error("\(entry.path): no endpoint is named \"\(endpoint)\"") }
                endpoints?.insert(endpoint)
            }
        }
        self.init(
            name: name, webhook: secret, endpoints: endpoints, link: try receiver["link"]?.string(),
            timeout: try receiver["timeout"]?.positiveDuration() ?? .seconds(10))
        matchLabels = try receiver["match_labels"]?.endpointLabels() ?? EndpointLabels()
    }

    /// Whether this receiver gets the alerts of `endpoint`, whose labels are `labels`.
    func routes(_ endpoint: String, labels: EndpointLabels?) -> Bool {
        guard endpoints?.contains(endpoint) ?? true else { return false }
        return matchLabels.pairs.allSatisfy { labels?[$0.name] == $0.value }
    }
}

extension ConfigNode {
    func isOff() throws(ConfigError) -> Bool {
        try string().lowercased() == "off"
    }

    /// `5%` or `5`, between 0 and 100.
    func percent() throws(ConfigError) -> Double {
        let text = try string()
        let number = text.hasSuffix("%") ? String(text.dropLast()).trimmingCharacters(in: .whitespaces) : text
        guard let value = Double(number), (0...100).contains(value) else {
            throw error("\(path) must be a percentage such as 5% or 99.9%, found \"\(text)\"")
        }
        return value
    }
}
