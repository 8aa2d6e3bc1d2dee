/// A firing, resolved or reminder transition, written to the spool's outbox and delivered from
/// there. It carries everything a message needs, so delivery never looks anything up.
public struct AlertEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case firing, resolved, reminder
    }

    public var kind: Kind
    public var rule: AlertRule
    public var endpoint: String
    public var url: String
    /// The measured value and the threshold, both as people read them (`1.42 s`, `12.5 %`).
    public var value: String
    public var threshold: String
    /// When the alert started firing.
    public var since: Timestamp
    /// When this transition happened (the probe's start time).
    public var at: Timestamp
    public var lastError: String?
    /// Held back by a maintenance window: logged, never sent.
    public var silenced: Bool
}

/// What an alert is about.
public enum AlertRule: String, Codable, Sendable, CaseIterable {
    /// Consecutive failed probes.
    case down
    /// Consecutive probes over the latency threshold.
    case slow
    /// A latency quantile over the window.
    case latency
    case errorRate = "error_rate"
    case uptime
    case certificate
}
