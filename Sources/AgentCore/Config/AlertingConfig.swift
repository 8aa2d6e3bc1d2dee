import Foundation

/// Alerting without Alertmanager: the rules the agent evaluates itself, when notifications are
/// silenced, and where they go.
public struct AlertingConfig: Sendable, Equatable {
    /// Rules per endpoint name (the `alerting.rules` defaults with each endpoint's `alerts` on top).
    public var rules: [String: AlertRules]
    public var maintenance: [MaintenanceWindow]
    public var receivers: [SlackReceiver]
    /// Transitions this close together go out as one message.
    public var groupingWindow: Duration
    /// While an alert fires, repeat it this often; nil: never.
    public var remindEvery: Duration?

    public init(
        rules: [String: AlertRules] = [:], maintenance: [MaintenanceWindow] = [], receivers: [SlackReceiver] = [],
        groupingWindow: Duration = .seconds(10), remindEvery: Duration? = nil
    ) {
        self.rules = rules
        self.maintenance = maintenance
        self.receivers = receivers
        self.groupingWindow = groupingWindow
        self.remindEvery = remindEvery
    }

    public static let readerName = "alerts"

    /// The default grouping window: the longest probe interval (at most a minute). Probes are
    /// spread over their interval, so an outage of many endpoints is detected within one interval;
    /// waiting that long makes it one message, and delivers within an interval of the first.
    public static func grouping(for endpoints: [EndpointConfig]) -> Duration {
        min(.seconds(60), endpoints.map(\.interval).max() ?? .seconds(10))
    }

    public func rules(for endpoint: String) -> AlertRules { rules[endpoint] ?? AlertRules() }

    public func inMaintenance(at time: Int64) -> Bool { maintenance.contains { $0.contains(time) } }
}

/// The thresholds of one endpoint. Defaults are the seed project's (latency over 1 s, error rate
/// over 5 %, uptime under 90 %) and Gatus' (3 failures to fire, 2 successes to resolve).
public struct AlertRules: Sendable, Equatable {
    /// Consecutive failed probes that fire `down`.
    public var failures = 3
    /// Consecutive good probes (or good window evaluations) that resolve an alert.
    public var recoveries = 2
    /// Consecutive probes slower than the endpoint's `latency_threshold` (1 s when unset) that fire `slow`.
    public var slowProbes = 3
    public var window: Duration = .seconds(300)
    /// Window rules wait for this many probes in the window.
    public var minProbes = 5
    public var quantile = 0.95
    public var quantileAbove: Duration? = .seconds(1)
    /// Percent.
    public var errorRateAbove: Double? = 5
    /// Percent.
    public var uptimeBelow: Double? = 90
    public var certificateExpiresWithin: Duration? = .seconds(14 * 86400)

    public init() {}

    public static let keys = [
        "failures", "recoveries", "slow_probes", "window", "min_probes", "quantile", "quantile_above", "error_rate_above",
        "uptime_below", "certificate_expires_within",
    ]

    /// These rules with what `mapping` sets on top; `off` turns a threshold off.
    func overridden(by mapping: ConfigMapping) throws(ConfigError) -> AlertRules {
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
        return rules
    }
}

/// A time when notifications are held back (measurement and evaluation go on).
public enum MaintenanceWindow: Sendable, Equatable {
    /// From `start` to `end`, Unix nanoseconds.
    case once(start: Int64, end: Int64)
    /// Every week on `weekday` (0 = Sunday) from `startMinute` to `endMinute` after midnight UTC.
    case weekly(weekday: Int, startMinute: Int, endMinute: Int)

    public func contains(_ time: Int64) -> Bool {
        switch self {
        case .once(let start, let end):
            return time >= start && time < end
        case .weekly(let weekday, let startMinute, let endMinute):
            let seconds = time / 1_000_000_000
            let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
            let day = Int((days + 4) % 7 + 7) % 7  // 1970-01-01 was a Thursday
            let minute = Int(seconds - days * 86400) / 60
            return day == weekday && minute >= startMinute && minute < endMinute
        }
    }
}

/// A Slack incoming webhook and which endpoints' alerts it gets.
public struct SlackReceiver: Sendable, Equatable {
    public var name: String
    public var webhook: Secret
    /// Endpoint names this receiver gets; nil: all.
    public var endpoints: Set<String>?
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

    /// The spool reader name of this receiver's outbox cursor.
    public var readerName: String { "slack:\(name)" }
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
