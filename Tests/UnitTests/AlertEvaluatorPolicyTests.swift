@testable import AgentCore
import Foundation
import Testing

/// The evaluator as a reader: transitions go to the outbox in the same commit as the cursor.
@Suite struct AlertEvaluatorPolicyTests {
    static func configuration() -> Configuration {
        var rules = AlertRulesConfig()
        rules.errorRateAbove = nil
        rules.uptimeBelow = nil
        rules.quantileAbove = nil
        var configuration = Fixtures.configuration()
        configuration.endpoints[0].alertRules = rules
        configuration.alerting = AlertingConfig(receivers: [SlackPolicyTests.receiver])
        return configuration
    }

    static func failures(_ range: ClosedRange<UInt64>) -> [SpoolEntry<ProbeResult>] {
        range.map { SpoolEntry(sequence: $0, value: Fixtures.result(failure: .connect, at: Fixtures.t0 + .seconds(Int64($0) * 10))) }
    }

    func machine() -> SpoolReaderMachine<AlertEvaluatorPolicy> {
        SpoolReaderMachine(policy: AlertEvaluatorPolicy(alerting: Self.configuration().alerting!), retry: .storage)
    }

    @Test func aTransitionIsWrittenWithTheCursorThatCausedIt() throws {
        var machine = machine()
        let context = Fixtures.context(wall: Fixtures.t0 + .seconds(40), lastSequence: 3, configuration: Self.configuration())
        _ = machine.start(cursor: 0, state: nil, context: context)
        let step = machine.read(Self.failures(1...3), context: context)
        let commit = try #require(step.next.commit)
        #expect(commit.cursor == 3)
        let events = try commit.outbox.map { try JSONDecoder().decode(AlertEvent.self, from: Data($0)) }
        #expect(events.map { "\($0.kind.rawValue) \($0.rule.rawValue)" } == ["firing down"])
        #expect(commit.publication == ["api": [.down]], "/status learns of it once it is durable")
        #expect(commit.state != nil)
        #expect(step.notes.contains { if case .log(let note) = $0 { note.message == "alert firing" } else { false } })
    }

    /// After a restart the records up to the saved cursor only refill the windows: a firing
    /// alert is neither forgotten nor fired again.
    @Test func aRestartRefillsTheWindowsWithoutRefiring() throws {
        var first = machine()
        let context = Fixtures.context(wall: Fixtures.t0 + .seconds(40), lastSequence: 3, configuration: Self.configuration())
        _ = first.start(cursor: 0, state: nil, context: context)
        let saved = try #require(first.read(Self.failures(1...3), context: context).next.commit)
        var restarted = machine()
        let later = Fixtures.context(wall: Fixtures.t0 + .seconds(50), lastSequence: 4, configuration: Self.configuration())
        #expect(restarted.start(cursor: 3, state: saved.state, context: later).next.label() == "read 0+1000", "history first")
        let step = restarted.read(Self.failures(1...4), context: later)
        #expect(try #require(step.next.commit).outbox.isEmpty, "still firing, not fired again")
    }

    @Test func withoutReceiversTransitionsAreLoggedButNotQueued() throws {
        var alerting = Self.configuration().alerting!
        alerting.receivers = []
        var machine = SpoolReaderMachine(policy: AlertEvaluatorPolicy(alerting: alerting), retry: .storage)
        let context = Fixtures.context(wall: Fixtures.t0 + .seconds(40), lastSequence: 3, configuration: Self.configuration())
        _ = machine.start(cursor: 0, state: nil, context: context)
        let step = machine.read(Self.failures(1...3), context: context)
        #expect(try #require(step.next.commit).outbox.isEmpty)
    }
}
