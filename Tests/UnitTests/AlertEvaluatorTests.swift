@testable import AgentCore
import Foundation
import Logging
import Testing

/// The evaluator's rules, driven with results at chosen times: no clocks, no sockets.
@Suite struct AlertEvaluatorTests {
    static let t0 = Fixtures.t0

    static func result(_ index: Int, ok: Bool = true, micros: Int64 = 10_000, expiry: Timestamp? = nil, endpoint: String = "api")
        -> ProbeResult
    {
        ProbeResult(
            endpoint: endpoint, url: "https://api/", method: "GET", connection: .cold, startedAt: t0 + .seconds(index * 10),
            timings: PhaseTimings(total: .microseconds(micros)), statusCode: ok ? 200 : 503, chainEarliestExpiry: expiry,
            failure: ok ? nil : ProbeFailure(reason: .httpStatus, message: "status 503 is not one of 200-299"))
    }

    /// Feeds results in order and returns every event as "kind rule" strings.
    func run(_ results: [ProbeResult], rules: AlertRulesConfig = AlertRulesConfig(), maintenance: (Int) -> Bool = { _ in false },
             remind: Duration? = nil, evaluator: inout AlertEvaluator) -> [String] {
        results.enumerated().flatMap { index, result in
            evaluator.evaluate(result, rules: rules, inMaintenance: maintenance(index), remindEvery: remind)
                .map { "\($0.kind.rawValue) \($0.rule.rawValue)\($0.silenced ? " silenced" : "")" }
        }
    }

    func run(_ results: [ProbeResult], rules: AlertRulesConfig = AlertRulesConfig(), maintenance: (Int) -> Bool = { _ in false },
             remind: Duration? = nil) -> [String] {
        var evaluator = AlertEvaluator()
        return run(results, rules: rules, maintenance: maintenance, remind: remind, evaluator: &evaluator)
    }

    var windowsOff: AlertRulesConfig {
        var rules = AlertRulesConfig()
        rules.errorRateAbove = nil
        rules.uptimeBelow = nil
        rules.quantileAbove = nil
        return rules
    }

    @Test func downFiresAfterThreeFailuresAndResolvesAfterTwoSuccesses() {
        let pattern = [true, false, false, false, false, true, true, true]
        var evaluator = AlertEvaluator()
        var events: [AlertEvent] = []
        for (index, ok) in pattern.enumerated() {
            events += evaluator.evaluate(Self.result(index, ok: ok), rules: windowsOff, inMaintenance: false)
        }
        #expect(events.map { "\($0.kind.rawValue) \($0.rule.rawValue)" } == ["firing down", "resolved down"])
        #expect(events[0].since == Self.t0 + .seconds(30), "it fires with the third failure")
        #expect(events[0].value == "3 failed probes in a row" && events[0].threshold == "3 in a row")
        #expect(events[0].lastError == "http_status: status 503 is not one of 200-299")
        #expect(events[1].since == events[0].since && events[1].at == Self.t0 + .seconds(60), "resolved after two successes")
    }

    @Test func flappingNeverFires() {
        let results = (0..<40).map { Self.result($0, ok: $0 % 2 == 0) }
        #expect(run(results, rules: windowsOff).isEmpty)
    }

    @Test func slowProbesFireAfterThreeAndResolveAfterTwoFastOnes() {
        let micros: [Int64] = [10_000, 1_500_000, 1_200_000, 2_000_000, 1_100_000, 20_000, 30_000]
        #expect(run(micros.enumerated().map { Self.result($0, micros: $1) }, rules: windowsOff) == ["firing slow", "resolved slow"])
    }

    @Test func windowRulesJudgeTheLastWindowOnceItHoldsEnoughProbes() {
        var rules = AlertRulesConfig()
        rules.window = .seconds(100)
        rules.minProbes = 10
        rules.failures = 100
        rules.quantileAbove = nil
        // 10 % failures: error rate above 5 % fires; uptime 90 % is not below 90 %.
        let results = (0..<10).map { Self.result($0, ok: $0 != 4) }
        #expect(run(results, rules: rules) == ["firing error_rate"])
        // 2 failures in the window of 10: uptime 80 % fires too.
        let worse = (0..<10).map { Self.result($0, ok: $0 != 4 && $0 != 6) }
        #expect(run(worse, rules: rules) == ["firing error_rate", "firing uptime"])
        // The window slides: after ten more good probes both resolve.
        let recovery = worse + (10..<22).map { Self.result($0) }
        #expect(run(recovery, rules: rules) == ["firing error_rate", "firing uptime", "resolved uptime", "resolved error_rate"])
        // Nothing before min_probes.
        #expect(run(Array(worse.prefix(4)), rules: rules).isEmpty)
    }

    /// One outage, one alert: while `down` fires, error_rate and uptime are held back; one still
    /// breached when `down` resolves is news then; `inhibit_while_down: false` sends them all.
    @Test func downHoldsBackTheWindowRulesOfItsEndpoint() {
        var rules = AlertRulesConfig()
        rules.window = .seconds(100)
        rules.minProbes = 5
        rules.quantileAbove = nil
        // Five good, then an outage of six probes, then recovery: the window still holds the failures.
        let outage = (0..<5).map { Self.result($0) } + (5..<11).map { Self.result($0, ok: false) } + (11..<14).map { Self.result($0) }
        #expect(run(outage, rules: rules) == ["firing down", "firing error_rate silenced", "firing uptime silenced", "resolved down"],
                "the window rules wait for the failures to become down, then are part of its outage")
        // The window slides past the outage: the held rules resolve as silently as they fired.
        let later = outage + (14..<30).map { Self.result($0) }
        #expect(run(later, rules: rules).suffix(2) == ["resolved uptime silenced", "resolved error_rate silenced"])
        // Failures that stop short of down: the window rule fires once the streak ends.
        let blip = (0..<5).map { Self.result($0) } + [Self.result(5, ok: false), Self.result(6)]
        #expect(run(blip, rules: rules) == ["firing error_rate", "firing uptime"], "1 of 7 failed: both breach, after the streak")
        var separate = rules
        separate.inhibitWindowRulesWhileDown = false
        #expect(run(outage, rules: separate) == ["firing error_rate", "firing uptime", "firing down", "resolved down"])
    }

    @Test func aHighQuantileFiresTheLatencyRule() {
        var rules = windowsOff
        rules.quantileAbove = .milliseconds(500)
        rules.slowProbes = 100
        let results = (0..<20).map { Self.result($0, micros: $0 % 4 == 0 ? 900_000 : 20_000) }
        let events = run(results, rules: rules)
        #expect(events == ["firing latency"], "p95 of 20 probes with 5 slow ones is 900 ms")
    }

    @Test func certificatesExpiringWithinTheirNoticeFire() {
        let soon = Self.t0 + .seconds(5 * 86_400)
        #expect(run([Self.result(0, expiry: soon + .seconds(30 * 86_400)), Self.result(1, expiry: soon)], rules: windowsOff) == ["firing certificate"])
    }

    @Test func maintenanceSilencesNotificationsNotEvaluation() {
        let pattern = [false, false, false, false, false, false, true, true]
        let events = run(pattern.enumerated().map { Self.result($0, ok: $1) }, rules: windowsOff, maintenance: { $0 < 4 })
        #expect(events == ["firing down silenced", "firing down", "resolved down"],
                "silenced during the window, announced when it ends while still firing, resolved normally")
        let shortOutage = [false, false, false, true, true]
        #expect(run(shortOutage.enumerated().map { Self.result($0, ok: $1) }, rules: windowsOff, maintenance: { _ in true })
            == ["firing down silenced", "resolved down silenced"], "an alert nobody heard of resolves silently")
    }

    @Test func remindersRepeatAFiringAlert() {
        let results = (0..<12).map { Self.result($0, ok: false) }
        #expect(run(results, rules: windowsOff, remind: .seconds(40)) == ["firing down", "reminder down", "reminder down"])
    }

    @Test func aRestoredEvaluatorNeitherForgetsNorRefires() throws {
        var evaluator = AlertEvaluator()
        let first = (0..<5).map { Self.result($0, ok: false) }
        #expect(run(first, rules: windowsOff, evaluator: &evaluator) == ["firing down"])
        var restored = try JSONDecoder().decode(AlertEvaluator.self, from: JSONEncoder().encode(evaluator))
        for result in first { restored.observe(result, rules: windowsOff) }
        #expect(run((5..<7).map { Self.result($0, ok: false) }, rules: windowsOff, evaluator: &restored).isEmpty, "no second firing")
        #expect(run((7..<9).map { Self.result($0) }, rules: windowsOff, evaluator: &restored) == ["resolved down"])
    }

    @Test(arguments: [
        (MaintenanceWindow.weekly(weekday: 0, startMinute: 120, endMinute: 180), "2026-11-29T02:30:00Z", true),
        (.weekly(weekday: 0, startMinute: 120, endMinute: 180), "2026-11-29T03:00:00Z", false),
        (.weekly(weekday: 0, startMinute: 120, endMinute: 180), "2026-11-30T02:30:00Z", false),
        (.once(start: Timestamp(unixSeconds: 1_795_593_600), end: Timestamp(unixSeconds: 1_795_597_200)), "2026-11-25T08:30:00Z", true),
    ])
    func maintenanceWindows(window: MaintenanceWindow, time: String, inside: Bool) throws {
        let date = try #require(ISO8601DateFormatter().date(from: time))
        #expect(window.contains(Timestamp(unixSeconds: Int64(date.timeIntervalSince1970))) == inside)
    }
}

@Suite struct SlackMessageTests {
    static func event(_ index: Int, kind: AlertEvent.Kind = .firing) -> AlertEvent {
        AlertEvent(
            kind: kind, rule: .down, endpoint: "svc-\(index)", url: "https://svc/", value: "3 failed probes in a row",
            threshold: "3 in a row", since: Fixtures.t0, at: Fixtures.t0 + .seconds(300),
            lastError: "connect: refused", silenced: false)
    }

    @Test func aStormIsOneMessageThatListsTheFirstAndCountsTheRest() throws {
        let events = (0..<30).map { Self.event($0) } + [Self.event(99, kind: .resolved)]
        let body = SlackMessage.body(for: events, node: "edge-1", link: nil)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let text = try #require(json["text"] as? String)
        #expect(text.hasPrefix("🔴 30 firing, ✅ 1 resolved on edge-1"))
        let section = try #require(((json["blocks"] as? [[String: Any]])?[1]["text"] as? [String: Any])?["text"] as? String)
        #expect(section.contains("*svc-0*") && section.contains("*svc-14*") && !section.contains("*svc-15*"))
        #expect(section.contains("…and 16 more: 15 firing down, 1 resolved down"))
        #expect(section.count < 3000, "within Slack's limit for a section")
        #expect(section.contains("> last error: connect: refused"))
    }

    @Test func resolvedMessagesSayHowLongItLasted() throws {
        let body = SlackMessage.body(for: [Self.event(1, kind: .resolved)], node: "n", link: "https://g/?e={endpoint}&n={node}")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let section = try #require(((json["blocks"] as? [[String: Any]])?[1]["text"] as? [String: Any])?["text"] as? String)
        #expect(section.contains("after 5 min 0 s"))
        #expect(section.contains("<https://g/?e=svc-1&n=n|dashboard>"))
    }

    @Test func anEndpointsLabelsStandBesideItsName() throws {
        let body = SlackMessage.body(
            for: [Self.event(1, kind: .resolved)], node: "n", link: nil, labels: ["svc-1": EndpointLabels(["team": "payments", "env": "prod"])])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let section = try #require(((json["blocks"] as? [[String: Any]])?[1]["text"] as? [String: Any])?["text"] as? String)
        #expect(section.contains("*svc-1* (env=prod,team=payments):"))
    }
}
