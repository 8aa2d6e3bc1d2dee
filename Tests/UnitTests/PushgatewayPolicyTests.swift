@testable import AgentCore
import Testing

/// The Pushgateway reader's decisions, driven through the generic machine with chosen times.
@Suite struct PushgatewayPolicyTests {
    static let config = PushgatewayConfig(connection: ConnectionConfig(url: "http://127.0.0.1:9091"), pushInterval: .seconds(15))

    func machine() -> SpoolReaderMachine<PushgatewayPolicy> {
        SpoolReaderMachine(policy: PushgatewayPolicy(config: Self.config, keepRemoved: .seconds(3600)), retry: .outputs)
    }

    /// Reads the whole backlog in batches and returns the step after the last read.
    func readAll(_ machine: inout SpoolReaderMachine<PushgatewayPolicy>, first step: SpoolReaderMachine<PushgatewayPolicy>.Step,
                 through last: UInt64, at now: MonotonicInstant = Fixtures.m0) -> SpoolReaderMachine<PushgatewayPolicy>.Step {
        var step = step
        while case .read(let after, let limit) = step.next {
            let upper = min(last, after + UInt64(limit))
            step = machine.read(after < upper ? Fixtures.entries((after + 1)...upper) : [], context: Fixtures.context(at: now, lastSequence: last))
        }
        return step
    }

    @Test func itPushesOnceAtStartThenEveryIntervalWhenSomethingIsNew() throws {
        var machine = machine()
        var step = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 0))
        let first = try #require(step.next.request, "the first push goes out at once, even with nothing folded yet")
        #expect(first.cursor == 0)
        step = machine.answered(Fixtures.answer(200), context: Fixtures.context(lastSequence: 0))
        step = machine.committed(step.next.commit!, context: Fixtures.context(lastSequence: 0))
        #expect(step.next.label() == "wait or change", "nothing new: no push")
        step = machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(1), lastSequence: 3))
        step = readAll(&machine, first: step, through: 3, at: Fixtures.m0 + .seconds(1))
        #expect(step.next.label(from: Fixtures.m0 + .seconds(1)) == "wait 14s", "the next push waits for its interval")
        step = machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(15), lastSequence: 3))
        #expect(try #require(step.next.request).fold.probeCount == 3)
    }

    /// After a failed push the fold is kept: retries fold only what arrived since, so a long
    /// backlog is folded once, not once per retry.
    @Test func aRetryAfterALongBacklogCostsOneFold() throws {
        var machine = machine()
        let backlog: UInt64 = 30_000
        var step = readAll(&machine, first: machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: backlog)), through: backlog)
        #expect(try #require(step.next.request).fold.probeCount == backlog)
        var now = Fixtures.m0
        for _ in 0..<5 {
            step = machine.answered(Fixtures.answer(503, "busy"), context: Fixtures.context(at: now, lastSequence: backlog))
            now = now + .seconds(10)
            step = machine.waited(context: Fixtures.context(at: now, lastSequence: backlog))
            #expect(try #require(step.next.request).fold.probeCount == backlog)
        }
        #expect(machine.policy.recordsFolded == backlog, "five retries, one fold of the backlog")
        // Two more results arrive before the next retry: only they are folded.
        step = machine.answered(Fixtures.refused, context: Fixtures.context(at: now, lastSequence: backlog + 2))
        step = readAll(&machine, first: machine.waited(context: Fixtures.context(at: now + .seconds(10), lastSequence: backlog + 2)),
                       through: backlog + 2, at: now + .seconds(10))
        #expect(try #require(step.next.request).cursor == backlog + 2)
        #expect(machine.policy.recordsFolded == backlog + 2)
        step = machine.answered(Fixtures.answer(200), context: Fixtures.context(at: now, lastSequence: backlog + 2))
        let commit = try #require(step.next.commit)
        #expect(commit.cursor == backlog + 2)
        let state = try #require(commit.state)
        let saved = try #require(MetricFold(decoding: state, like: MetricFold(Self.config)))
        #expect(saved.probeCount == backlog + 2, "fold and cursor are committed together")
    }

    @Test func aRefusedPushStillCommitsTheFold() throws {
        var machine = machine()
        var step = readAll(&machine, first: machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 4)), through: 4)
        step = machine.answered(Fixtures.answer(400, "pushed metrics are invalid"), context: Fixtures.context(lastSequence: 4))
        #expect(step.notes.contains(.rejected(reason: "HTTP 400: pushed metrics are invalid")))
        #expect(try #require(step.next.commit).cursor == 4, "the fold holds every probe; the next accepted push carries them")
    }

    @Test func everyOtherAnswerIsRetried() {
        let policy = PushgatewayPolicy(config: Self.config, keepRemoved: .seconds(60))
        for status in [401, 403, 404, 429, 500, 503] {
            guard case .retry = policy.verdict(on: Fixtures.answer(status)) else {
                Issue.record("HTTP \(status) should be retried")
                continue
            }
        }
        #expect(policy.verdict(on: Fixtures.answer(202)) == .accepted)
    }

    /// A removed endpoint's counters stay in the fold (and on the gateway) for `spool.retain`,
    /// so a reload that re-adds it continues them; its gauges go at once.
    @Test func aRemovedEndpointKeepsItsCountersButNotItsGauges() throws {
        var machine = machine()
        let both = Fixtures.configuration(endpoints: ["api", "gone"])
        var step = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 2, configuration: both))
        step = machine.read(
            [SpoolEntry(sequence: 1, value: Fixtures.result("api")), SpoolEntry(sequence: 2, value: Fixtures.result("gone"))],
            context: Fixtures.context(lastSequence: 2, configuration: Fixtures.configuration(endpoints: ["api"])))
        let request = try #require(step.next.request)
        #expect(request.configured == ["api"])
        let families = request.fold.metricFamilies(configured: request.configured)
        let requests = try #require(families.first { $0.name == "api_requests_total" })
        #expect(requests.samples.contains { $0.labels.contains { $0 == ("endpoint", "gone") } }, "its counters continue")
        let success = try #require(families.first { $0.name == "probe_success" })
        #expect(success.samples.map { $0.labels[0].value } == ["api"], "its last-probe gauges do not")
        // Long after its last probe it is forgotten.
        step = machine.answered(Fixtures.answer(200), context: Fixtures.context(lastSequence: 2))
        step = machine.committed(step.next.commit!, context: Fixtures.context(lastSequence: 3))
        step = machine.read([SpoolEntry(sequence: 3, value: Fixtures.result("api", at: Fixtures.t0 + .seconds(7200)))],
                            context: Fixtures.context(at: Fixtures.m0 + .seconds(20), wall: Fixtures.t0 + .seconds(7200), lastSequence: 3,
                                                      configuration: Fixtures.configuration(endpoints: ["api"])))
        #expect(try #require(step.next.request).fold.endpoints.keys.sorted() == ["api"])
    }

    @Test func aStateFromOtherBucketsRestartsTheCountersAndSaysSo() {
        var other = PushgatewayConfig(connection: ConnectionConfig(url: "http://g/"))
        other.buckets = [1, 2]
        var fold = MetricFold(other)
        fold.add(Fixtures.result())
        var machine = machine()
        let step = machine.start(cursor: 9, state: fold.encoded(), context: Fixtures.context(lastSequence: 9))
        #expect(step.notes.contains { if case .log(let note) = $0 { note.message.contains("counters restart from zero") } else { false } })
        #expect(step.next.request?.fold.probeCount == 0)
    }

    @Test func shutdownPushesWhatIsLeftOnceAndFinishes() throws {
        var machine = machine()
        var step = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 0))
        step = machine.answered(Fixtures.answer(200), context: Fixtures.context(lastSequence: 0))
        step = machine.committed(step.next.commit!, context: Fixtures.context(lastSequence: 2))
        step = readAll(&machine, first: step, through: 2)
        #expect(step.next.label() == "wait 15s", "not due yet")
        _ = machine.shutdown(context: Fixtures.context(lastSequence: 2))
        step = machine.flushed(context: Fixtures.context(lastSequence: 2))
        #expect(try #require(step.next.request).cursor == 2, "at shutdown the push goes at once")
        step = machine.answered(Fixtures.answer(200), context: Fixtures.context(lastSequence: 2))
        step = machine.committed(step.next.commit!, context: Fixtures.context(lastSequence: 2))
        #expect(step.next.label() == "finished")
    }
}
