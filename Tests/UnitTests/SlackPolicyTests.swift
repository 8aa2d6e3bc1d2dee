@testable import AgentCore
import Foundation
import Testing

/// The Slack sender's grouping, pacing and answers, driven with chosen times.
@Suite struct SlackPolicyTests {
    static let receiver = SlackReceiverConfig(name: "oncall", webhook: Secret("http://127.0.0.1:1/services/T/B/X"))

    static func event(_ endpoint: String, at offset: Duration, kind: AlertEvent.Kind = .firing, silenced: Bool = false) -> AlertEvent {
        AlertEvent(
            kind: kind, rule: .down, endpoint: endpoint, url: "http://x/", value: "3 failed probes in a row", threshold: "3 in a row",
            since: Fixtures.t0 + offset, at: Fixtures.t0 + offset, lastError: nil, silenced: silenced)
    }

    static func entries(_ events: [AlertEvent], from first: UInt64 = 1) -> [SpoolEntry<AlertEvent>] {
        events.enumerated().map { SpoolEntry(sequence: first + UInt64($0.offset), value: $0.element) }
    }

    func machine(receiver: SlackReceiverConfig = SlackPolicyTests.receiver, window: Duration = .seconds(10)) -> SpoolReaderMachine<SlackPolicy> {
        SpoolReaderMachine(policy: SlackPolicy(receiver: receiver, node: "edge-1", groupingWindow: window), retry: .alerts)
    }

    static func text(_ request: OutputRequest?) throws -> String {
        let body = try #require(request?.body)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        return try #require(json["text"] as? String)
    }

    @Test func transitionsWithinTheWindowAreOneMessage() throws {
        var machine = machine()
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 2))
        var step = machine.read(Self.entries([Self.event("a", at: .zero), Self.event("b", at: .seconds(3))]),
                                context: Fixtures.context(wall: Fixtures.t0 + .seconds(4), lastSequence: 2))
        #expect(step.next.label() == "wait 6s or change", "the window runs from the first transition")
        step = machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(6), wall: Fixtures.t0 + .seconds(10), lastSequence: 3))
        step = machine.read(Self.entries([Self.event("c", at: .seconds(9))], from: 3),
                            context: Fixtures.context(at: Fixtures.m0 + .seconds(6), wall: Fixtures.t0 + .seconds(10), lastSequence: 3))
        let text = try Self.text(step.next.request)
        #expect(text.hasPrefix("🔴 3 firing on edge-1"), "\(text)")
        step = machine.answered(Fixtures.answer(200, "ok"), context: Fixtures.context(at: Fixtures.m0 + .seconds(6), lastSequence: 3))
        #expect(step.next.commit?.cursor == 3)
    }

    /// Two messages never arrive less than a second apart: the pace runs from the previous
    /// answer, which came after the previous message arrived.
    @Test func messagesArePacedFromThePreviousAnswer() throws {
        var machine = machine(window: .seconds(1))
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 2))
        let late = Fixtures.t0 + .seconds(60)
        var step = machine.read(Self.entries([Self.event("a", at: .zero), Self.event("b", at: .seconds(30))]),
                                context: Fixtures.context(wall: late, lastSequence: 2))
        #expect(try Self.text(step.next.request).contains("1 firing"))
        let answered = Fixtures.m0 + .milliseconds(40)
        step = machine.answered(Fixtures.answer(200, "ok"), context: Fixtures.context(at: answered, wall: late, lastSequence: 2))
        step = machine.committed(step.next.commit!, context: Fixtures.context(at: answered, wall: late, lastSequence: 2))
        #expect(step.next.label(from: answered) == "wait 1s", "the second message waits a full second after the first answer")
        step = machine.waited(context: Fixtures.context(at: answered + .seconds(1), wall: late, lastSequence: 2))
        #expect(try Self.text(step.next.request).contains("1 firing"))
    }

    @Test func throttlingWaitsRetryAfterAndAPlain429OnePace() throws {
        var machine = machine()
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 1))
        _ = machine.read(Self.entries([Self.event("a", at: .zero)]), context: Fixtures.context(wall: Fixtures.t0 + .seconds(20), lastSequence: 1))
        var step = machine.answered(Fixtures.answer(429, "rate_limited", retryAfter: .seconds(3)), context: Fixtures.context(lastSequence: 1))
        #expect(step.next.label() == "wait 3s")
        step = machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(3), lastSequence: 1))
        #expect(step.next.request != nil)
        step = machine.answered(Fixtures.answer(429, "rate_limited"), context: Fixtures.context(at: Fixtures.m0 + .seconds(3), lastSequence: 1))
        #expect(step.next.label(from: Fixtures.m0 + .seconds(3)) == "wait 1s")
        step = machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(4), lastSequence: 1))
        step = machine.answered(Fixtures.answer(500, "rollup_error"), context: Fixtures.context(at: Fixtures.m0 + .seconds(4), lastSequence: 1))
        #expect(step.next.label(from: Fixtures.m0 + .seconds(4)) == "wait 250ms", "5xx backs off (capped at 2 s for alerts)")
        step = machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(4) + .milliseconds(250), lastSequence: 1))
        #expect(step.next.label(from: Fixtures.m0 + .seconds(4) + .milliseconds(250)) == "wait 750ms", "but never sooner than a pace after the last answer")
    }

    @Test func permanentRefusalsAreNotResent() {
        for (status, reason) in [(400, "invalid_payload"), (403, "action_prohibited"), (404, "no_service"), (410, "channel_is_archived")] {
            var machine = machine()
            _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 1))
            _ = machine.read(Self.entries([Self.event("a", at: .zero)]), context: Fixtures.context(wall: Fixtures.t0 + .seconds(20), lastSequence: 1))
            let step = machine.answered(Fixtures.answer(status, reason), context: Fixtures.context(lastSequence: 1))
            #expect(step.notes.contains(.rejected(reason: "HTTP \(status): \(reason)")))
            #expect(step.next.commit?.cursor == 1)
        }
    }

    /// `match_labels: {team: payments}`: only the alerts of endpoints with that label.
    @Test func aReceiverCanTakeOnlyTheEndpointsWithItsLabels() throws {
        var receiver = Self.receiver
        receiver.matchLabels = EndpointLabels(["team": "payments"])
        var configuration = Fixtures.configuration(endpoints: ["pay", "search"])
        configuration.endpoints[0].labels = EndpointLabels(["team": "payments", "env": "prod"])
        configuration.endpoints[1].labels = EndpointLabels(["team": "search"])
        var machine = machine(receiver: receiver)
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 2, configuration: configuration))
        let step = machine.read(
            Self.entries([Self.event("search", at: .zero), Self.event("pay", at: .zero)]),
            context: Fixtures.context(wall: Fixtures.t0 + .seconds(20), lastSequence: 2, configuration: configuration))
        let text = try Self.text(step.next.request)
        #expect(text.contains("pay") && !text.contains("search"))
        let body = String(decoding: try #require(step.next.request).body, as: UTF8.self)
        #expect(body.contains("*pay* (env=prod,team=payments)"), "the labels stand beside the name")
    }

    @Test func silencedEventsAndOtherEndpointsAreSkippedAndCommittedPast() throws {
        var receiver = Self.receiver
        receiver.endpoints = ["mine"]
        var machine = machine(receiver: receiver)
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 3))
        let step = machine.read(
            Self.entries([Self.event("other", at: .zero), Self.event("mine", at: .zero, silenced: true), Self.event("other", at: .seconds(1))]),
            context: Fixtures.context(wall: Fixtures.t0 + .seconds(20), lastSequence: 3))
        #expect(step.next.commit?.cursor == 3, "nothing for this receiver: the cursor moves past without a message")
        let mixed = machine.committed(step.next.commit!, context: Fixtures.context(lastSequence: 5))
        #expect(mixed.next.label() == "read 3+5000")
        var sent = machine.read(Self.entries([Self.event("mine", at: .seconds(2)), Self.event("other", at: .seconds(2))], from: 4),
                                context: Fixtures.context(wall: Fixtures.t0 + .seconds(20), lastSequence: 5))
        #expect(try Self.text(sent.next.request).contains("mine"))
        sent = machine.answered(Fixtures.answer(200, "ok"), context: Fixtures.context(lastSequence: 5))
        #expect(sent.next.commit?.cursor == 5)
    }
}
