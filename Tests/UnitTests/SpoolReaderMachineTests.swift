@testable import AgentCore
import Testing

/// What every reader shares, on a minimal policy: read, send each batch, commit on acceptance.
@Suite struct SpoolReaderMachineTests {
    /// Sends the sequences it read; commits through the last one once they are accepted.
    struct BatchPolicy: SpoolReaderPolicy {
        typealias Element = ProbeResult
        typealias Request = [UInt64]
        typealias Publication = Never
        var readThrough: UInt64 = 0
        var unsent: [UInt64] = []
        var inFlight: [UInt64]?
        var draining = false

        mutating func start(cursor: UInt64, state: [UInt8]?, context: ReaderContext) -> Action {
            readThrough = cursor
            return next(context: context)
        }
        mutating func received(_ entries: [SpoolEntry<ProbeResult>], context: ReaderContext) -> Action {
            readThrough = entries.last?.sequence ?? context.lastSequence
            unsent += entries.map(\.sequence)
            return next(context: context)
        }
        mutating func delivered(_ delivery: Delivery, context: ReaderContext) -> Action {
            let sent = inFlight ?? []
            inFlight = nil
            return .commit(ReaderCommit(cursor: sent.last ?? readThrough))
        }
        mutating func retrying(since answer: MonotonicInstant, context: ReaderContext) -> Action { .send(inFlight ?? []) }
        mutating func draining(context: ReaderContext) -> Action {
            draining = true
            return next(context: context)
        }
        mutating func next(context: ReaderContext) -> Action {
            if readThrough < context.lastSequence { return .read(after: readThrough, limit: 100) }
            if !unsent.isEmpty {
                inFlight = unsent
                unsent = []
                return .send(inFlight!)
            }
            return draining ? .finished : .wait(until: nil, orChange: true)
        }
    }

    func machine(_ retry: RetryPolicy = .outputs) -> SpoolReaderMachine<BatchPolicy> {
        SpoolReaderMachine(policy: BatchPolicy(), retry: retry)
    }

    @Test func aDeliveryIsReadSentAndCommittedInThatOrder() {
        var machine = machine()
        var step = machine.start(cursor: 2, state: nil, context: Fixtures.context(lastSequence: 5))
        #expect(step.next.label() == "read 2+100")
        step = machine.read(Fixtures.entries(3...5), context: Fixtures.context(lastSequence: 5))
        #expect(step.next.request == [3, 4, 5])
        step = machine.answered(Fixtures.answer(204), context: Fixtures.context(lastSequence: 5))
        #expect(step.notes == [.delivered(at: Fixtures.t0)])
        #expect(step.next.label() == "commit 5")
        step = machine.committed(step.next.commit!, context: Fixtures.context(lastSequence: 5))
        #expect(machine.cursor == 5)
        #expect(step.next.label() == "wait or change", "caught up: it waits for new records, without polling")
    }

    /// Backoff grows to its cap and no further; `Retry-After` is the wait itself, not a floor.
    @Test func retriesBackOffToTheCapAndRetryAfterIsTheWait() {
        var machine = machine(RetryPolicy(initial: .milliseconds(500), maximum: .seconds(5), jitter: 0))
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 1))
        _ = machine.read(Fixtures.entries(1...1), context: Fixtures.context(lastSequence: 1))
        var waits: [String] = []
        var now = Fixtures.m0
        for _ in 0..<7 {
            let step = machine.answered(Fixtures.refused, context: Fixtures.context(at: now, lastSequence: 1))
            waits.append(step.next.label(from: now))
            now = now + .seconds(10)
            #expect(machine.waited(context: Fixtures.context(at: now, lastSequence: 1)).next.request == [1], "the same request again")
        }
        #expect(waits == ["wait 500ms", "wait 1s", "wait 2s", "wait 4s", "wait 5s", "wait 5s", "wait 5s"])
        let throttled = machine.answered(Fixtures.answer(429, retryAfter: .seconds(1)), context: Fixtures.context(at: now, lastSequence: 1))
        #expect(throttled.next.label(from: now) == "wait 1s", "Retry-After: 1 means one second, however long the outage")
        let dated = machine.answered(Fixtures.answer(503, retryAfter: .seconds(30)), context: Fixtures.context(at: now, lastSequence: 1))
        #expect(dated.next.label(from: now) == "wait 30s")
    }

    @Test func theFirstFailureOfAnOutageIsLoggedAndTheRecoveryToo() {
        var machine = machine()
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 2))
        _ = machine.read(Fixtures.entries(1...2), context: Fixtures.context(lastSequence: 2))
        let first = machine.answered(Fixtures.refused, context: Fixtures.context(lastSequence: 2))
        guard case .deliveryFailed(let reason, true, 2, _)? = first.notes.first else {
            Issue.record("expected the outage's first failure, got \(first.notes)")
            return
        }
        #expect(reason == "connect: Connection refused")
        _ = machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(1), lastSequence: 2))
        let second = machine.answered(Fixtures.refused, context: Fixtures.context(at: Fixtures.m0 + .seconds(1), lastSequence: 2))
        guard case .deliveryFailed(_, false, _, _)? = second.notes.first else {
            Issue.record("a repeated failure is not the outage's first: \(second.notes)")
            return
        }
        _ = machine.waited(context: Fixtures.context(at: Fixtures.m0 + .seconds(3), lastSequence: 2))
        let back = machine.answered(Fixtures.answer(204), context: Fixtures.context(at: Fixtures.m0 + .seconds(3), lastSequence: 2))
        #expect(back.notes == [.delivered(at: Fixtures.t0), .recovered(after: .seconds(3))])
        let caughtUp = machine.committed(back.next.commit!, context: Fixtures.context(at: Fixtures.m0 + .seconds(4), lastSequence: 2))
        #expect(caughtUp.notes == [.caughtUp(after: .seconds(4))])
    }

    @Test func aRefusalIsReportedAndCommittedNotResent() {
        var machine = machine()
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 1))
        _ = machine.read(Fixtures.entries(1...1), context: Fixtures.context(lastSequence: 1))
        let step = machine.answered(Fixtures.answer(400, "bad labels"), context: Fixtures.context(lastSequence: 1))
        #expect(step.notes == [.rejected(reason: "HTTP 400: bad labels")])
        #expect(step.next.label() == "commit 1")
    }

    /// A spool that cannot be read or committed is retried with backoff, never thrown: one
    /// failing reader can never end the service group.
    @Test func storageFailuresAreRetriedNotThrown() {
        var machine = machine()
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 1))
        let failedRead = machine.readFailed(.closed, after: 0, limit: 100, context: Fixtures.context(lastSequence: 1))
        #expect(failedRead.notes == [.storageFailed(reason: "the spool is closed", first: true)])
        #expect(failedRead.next.label() == "wait 100ms")
        #expect(machine.waited(context: Fixtures.context(lastSequence: 1)).next.label() == "read 0+100")
        _ = machine.read(Fixtures.entries(1...1), context: Fixtures.context(lastSequence: 1))
        let commit = machine.answered(Fixtures.answer(200), context: Fixtures.context(lastSequence: 1)).next.commit!
        let failedCommit = machine.commitFailed(commit, error: .storage(LMDBError(operation: "committing", code: 5)), context: Fixtures.context(lastSequence: 1))
        #expect(failedCommit.next.label() == "wait 100ms")
        let again = machine.waited(context: Fixtures.context(lastSequence: 1))
        #expect(again.next.label() == "commit 1", "the same commit again: the delivery it records is not repeated")
        #expect(machine.committed(commit, context: Fixtures.context(lastSequence: 1)).notes == [.storageRecovered])
    }

    @Test func shutdownFlushesThenDrainsAndStopsAtTheFirstFailure() {
        var machine = machine()
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 0))
        #expect(machine.shutdown(context: Fixtures.context(lastSequence: 3)).next.label() == "flush")
        #expect(machine.flushed(context: Fixtures.context(lastSequence: 3)).next.label() == "read 0+100")
        let sent = machine.read(Fixtures.entries(1...3), context: Fixtures.context(lastSequence: 3))
        #expect(sent.next.request == [1, 2, 3])
        let failed = machine.answered(Fixtures.refused, context: Fixtures.context(lastSequence: 3))
        #expect(failed.next.label() == "finished", "no backoff at shutdown: the spool keeps it for the next start")
        #expect(failed.notes.contains(.drainIncomplete(reason: "connect: Connection refused")))
    }

    @Test func aDrainingCommitIsNotRetriedForever() {
        var machine = machine()
        _ = machine.start(cursor: 0, state: nil, context: Fixtures.context(lastSequence: 1))
        _ = machine.shutdown(context: Fixtures.context(lastSequence: 1))
        _ = machine.flushed(context: Fixtures.context(lastSequence: 1))
        _ = machine.read(Fixtures.entries(1...1), context: Fixtures.context(lastSequence: 1))
        let step = machine.answered(Fixtures.answer(200), context: Fixtures.context(lastSequence: 1))
        guard case .commit(let commit, let retryUntilWritten) = step.next else {
            Issue.record("expected a commit, got \(step.next.label())")
            return
        }
        #expect(!retryUntilWritten, "a last commit at shutdown must not hold the agent up on a failing disk")
        #expect(machine.commitFailed(commit, error: .closed, context: Fixtures.context(lastSequence: 1)).next.label() == "finished")
    }
}
