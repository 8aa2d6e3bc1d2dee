import Foundation

/// Turns probe results into alert transitions. A pure state machine: results (with their own
/// timestamps) go in, events come out, so every rule is tested without clocks or sockets and a
/// replay of the same results gives the same events.
///
/// Counting rules (`down`, `slow`) fire after N consecutive bad probes and resolve after M good
/// ones; window rules (latency quantile, error rate, uptime) evaluate the last `window` once it
/// holds `min_probes`, and also need M good evaluations to resolve, so a flapping endpoint
/// does not send a message per probe.
public struct AlertEvaluator: Sendable, Equatable {
    struct Sample: Sendable, Equatable {
        var time: Timestamp
        var succeeded: Bool
        var total: Duration
    }

    struct Firing: Codable, Sendable, Equatable {
        var since: Timestamp
        /// False while a maintenance window held its notification back.
        var notified: Bool
        var lastNotice: Timestamp
        var goodStreak = 0
        /// A window rule that breached during a `down` outage: part of that outage, so it stays
        /// silent to its resolution. Optional so states saved before it still load.
        var partOfOutage: Bool?
    }

    struct EndpointState: Codable, Sendable, Equatable {
        var failures = 0
        var successes = 0
        var slow = 0
        var fast = 0
        /// Rebuilt from the spool at start, so not saved.
        var window: [Sample] = []
        var firing: [AlertRule: Firing] = [:]
        var lastError: String?

        enum CodingKeys: String, CodingKey { case failures, successes, slow, fast, firing, lastError }
    }

    private(set) var endpoints: [String: EndpointState] = [:]

    public init() {}

    /// Adds a result to the windows only: how the windows are rebuilt after a restart.
    public mutating func observe(_ result: ProbeResult, rules: AlertRulesConfig) {
        var state = endpoints[result.endpoint] ?? EndpointState()
        Self.record(result, in: &state, window: rules.window)
        endpoints[result.endpoint] = state
    }

    /// Evaluates every rule after `result` and returns the transitions it causes.
    public mutating func evaluate(
        _ result: ProbeResult, rules: AlertRulesConfig, inMaintenance: Bool, remindEvery: Duration? = nil
    ) -> [AlertEvent] {
        var state = endpoints[result.endpoint] ?? EndpointState()
        Self.record(result, in: &state, window: rules.window)
        if result.succeeded {
            state.failures = 0
            state.successes += 1
            if result.timings.total > rules.slowAbove {
                state.slow += 1
                state.fast = 0
            } else {
                state.fast += 1
                state.slow = 0
            }
        } else {
            state.successes = 0
            state.failures += 1
            state.lastError = result.failure.map { "\($0.reason.rawValue): \($0.message)" }
        }
        var events: [AlertEvent] = []
        func event(_ kind: AlertEvent.Kind, _ rule: AlertRule, _ value: String, _ threshold: String, since: Timestamp, silenced: Bool)
            -> AlertEvent
        {
            AlertEvent(
                kind: kind, rule: rule, endpoint: result.endpoint, url: result.url, value: value, threshold: threshold,
                since: since, at: result.startedAt, lastError: state.lastError, silenced: silenced)
        }
        for (rule, verdict) in Self.verdicts(state, rules: rules, result: result) {
            // `down` comes first, so a window rule sees whether this very probe made it fire. While
            // failures mount towards `down`, a window rule waits: the outage may be `down`'s.
            let inhibits = rules.inhibitWindowRulesWhileDown && Self.windowRules.contains(rule)
            let inOutage = inhibits && state.firing[.down] != nil
            let awaitingDown = inhibits && state.firing[.down] == nil && state.failures > 0
            switch (state.firing[rule], verdict.breached) {
            case (nil, true?) where verdict.readyToFire && !awaitingDown:
                state.firing[rule] = Firing(
                    since: result.startedAt, notified: !(inMaintenance || inOutage), lastNotice: result.startedAt,
                    partOfOutage: inOutage ? true : nil)
                events.append(event(.firing, rule, verdict.value, verdict.threshold, since: result.startedAt, silenced: inMaintenance || inOutage))
            case (var firing?, false?):
                firing.goodStreak += 1
                if firing.goodStreak >= (verdict.countsItsOwnRecoveries ? 1 : rules.recoveries) {
                    state.firing[rule] = nil
                    // A resolution is only news to those who heard of the alert.
                    events.append(event(.resolved, rule, verdict.value, verdict.threshold, since: firing.since,
                                        silenced: inMaintenance || !firing.notified))
                } else {
                    state.firing[rule] = firing
                }
            case (var firing?, true?):
                firing.goodStreak = 0
                if !inMaintenance, !firing.notified, firing.partOfOutage != true {
                    // Still firing when the maintenance window ended: now it is news.
                    firing.notified = true
                    firing.lastNotice = result.startedAt
                    events.append(event(.firing, rule, verdict.value, verdict.threshold, since: firing.since, silenced: false))
                } else if !inMaintenance, firing.notified, let remindEvery, result.startedAt - firing.lastNotice >= remindEvery {
                    firing.lastNotice = result.startedAt
                    events.append(event(.reminder, rule, verdict.value, verdict.threshold, since: firing.since, silenced: false))
                }
                state.firing[rule] = firing
            default:
                break
            }
        }
        endpoints[result.endpoint] = state
        return events
    }

    /// Forgets endpoints no longer configured, with their alerts.
    public mutating func retain(endpointsNamed names: Set<String>) {
        endpoints = endpoints.filter { names.contains($0.key) }
    }

    /// Alerts firing now, by endpoint: for `/status`.
    public var firing: [String: [AlertRule]] {
        endpoints.compactMapValues { $0.firing.isEmpty ? nil : $0.firing.keys.sorted { $0.rawValue < $1.rawValue } }
    }

    /// The rules `down` holds back (`inhibit_while_down`): what breaches during an outage is that
    /// outage, already announced.
    static let windowRules: Set<AlertRule> = [.latency, .errorRate, .uptime]

    struct Verdict {
        /// nil: the rule cannot judge yet (too few probes, no certificate seen).
        var breached: Bool?
        var readyToFire = true
        /// Counting rules resolve by their own streak (`recoveries` good probes in a row).
        var countsItsOwnRecoveries = false
        var value: String
        var threshold: String
    }

    static func verdicts(_ state: EndpointState, rules: AlertRulesConfig, result: ProbeResult) -> [(AlertRule, Verdict)] {
        var verdicts: [(AlertRule, Verdict)] = []
        // down: N failures in a row fire; M successes in a row resolve.
        verdicts.append((.down, Verdict(
            breached: state.failures >= rules.failures ? true : (state.successes >= rules.recoveries ? false : nil),
            countsItsOwnRecoveries: true, value: "\(state.failures) failed probes in a row",
            threshold: "\(rules.failures) in a row")))
        verdicts.append((.slow, Verdict(
            breached: state.slow >= rules.slowProbes ? true : (state.fast >= rules.recoveries ? false : nil),
            countsItsOwnRecoveries: true, value: "\(seconds(result.timings.total)) (\(state.slow) slow in a row)",
            threshold: "\(seconds(rules.slowAbove)) for \(rules.slowProbes) probes")))
        let window = state.window
        if window.count >= rules.minProbes {
            let successes = window.filter(\.succeeded)
            let total = Double(window.count)
            if let limit = rules.quantileAbove, !successes.isEmpty {
                let sorted = successes.map(\.total).sorted()
                let value = sorted[min(sorted.count - 1, Int((rules.quantile * Double(sorted.count)).rounded(.up)) - 1)]
                verdicts.append((.latency, Verdict(
                    breached: value > limit, value: "p\(Int(rules.quantile * 100)) \(seconds(value))",
                    threshold: "\(seconds(limit)) over \(HumanUnits.format(rules.window))")))
            }
            let errorRate = Double(window.count - successes.count) / total * 100
            if let limit = rules.errorRateAbove {
                verdicts.append((.errorRate, Verdict(
                    breached: errorRate > limit, value: String(format: "%.1f %% failed", errorRate),
                    threshold: String(format: "%g %% over %@", limit, HumanUnits.format(rules.window)))))
            }
            if let limit = rules.uptimeBelow {
                let uptime = 100 - errorRate
                verdicts.append((.uptime, Verdict(
                    breached: uptime < limit, value: String(format: "%.1f %% up", uptime),
                    threshold: String(format: "%g %% over %@", limit, HumanUnits.format(rules.window)))))
            }
        }
        if let within = rules.certificateExpiresWithin, let expiry = result.chainEarliestExpiry {
            let left = expiry - result.startedAt
            verdicts.append((.certificate, Verdict(
                breached: left < within,
                value: String(format: "expires in %.1f days", left.inDays),
                threshold: String(format: "%.0f days", within.inDays))))
        }
        return verdicts
    }

    private static func record(_ result: ProbeResult, in state: inout EndpointState, window: Duration) {
        state.window.append(Sample(time: result.startedAt, succeeded: result.succeeded, total: result.timings.total))
        let cutoff = result.startedAt - window
        if let first = state.window.firstIndex(where: { $0.time > cutoff }), first > 0 {
            state.window.removeFirst(first)
        }
    }

    static func seconds(_ value: Duration) -> String {
        value >= .seconds(1) ? String(format: "%.2f s", value.inSeconds) : String(format: "%.0f ms", value.inMilliseconds)
    }
}

extension AlertEvaluator: Codable {
    /// Counters and firing alerts; the windows are rebuilt from the spool.
    public init(from decoder: any Decoder) throws {
        endpoints = try [String: EndpointState](from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try endpoints.encode(to: encoder)
    }
}
