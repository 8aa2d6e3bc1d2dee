/// What every spool reader does around its policy, as a pure state machine: backoff and
/// `Retry-After` after a failed delivery, retrying a spool read or commit that failed, and the
/// notes (health, outage and recovery log lines) that go with them. `SpoolReader` feeds it
/// events and carries out its `Next`; tests feed it events and look at the steps.
public struct SpoolReaderMachine<Policy: SpoolReaderPolicy>: Sendable {
    /// What the I/O loop does next.
    public enum Next: Sendable {
        /// Read the committed position, then `start` (again, after `startFailed`).
        case start
        case read(after: UInt64, limit: Int)
        case wait(until: MonotonicInstant?, orChange: Bool)
        case send(Policy.Request)
        case commit(ReaderCommit<Policy.Publication>, retryUntilWritten: Bool)
        /// Make everything appended durable (at shutdown), then `flushed`.
        case flush
        case finished
    }

    public struct Step: Sendable {
        public var notes: [ReaderNote]
        public var next: Next
    }

    public private(set) var policy: Policy
    public let retryPolicy: RetryPolicy
    private var deliveryBackoff: Backoff
    private var storageBackoff = Backoff(.storage)
    /// The cursor last committed (or started from).
    public private(set) var cursor: UInt64 = 0
    private var state = State.running
    /// Since when deliveries fail, while they do.
    private var outage: (since: MonotonicInstant, reason: String)?
    /// Since when the last outage ended, until the backlog it left is delivered.
    private var recovering: MonotonicInstant?
    private var storageFailing = false
    private var draining = false
    /// The last delivery was refused: the commit that follows moves past refused records.
    private var refusalPending = false
    private var notes: [ReaderNote] = []

    private enum State: Sendable {
        case running
        /// Waiting out a backoff; then this happens.
        case backingOff(then: Retry)
    }

    private enum Retry: Sendable {
        case start
        case delivery(answeredAt: MonotonicInstant)
        case read(after: UInt64, limit: Int)
        case commit(ReaderCommit<Policy.Publication>)
    }

    public init(policy: Policy, retry: RetryPolicy) {
        self.policy = policy
        self.retryPolicy = retry
        self.deliveryBackoff = Backoff(retry)
    }

    /// Whether deliveries are failing now.
    public var isInOutage: Bool { outage != nil }

    // MARK: Events

    public mutating func start(cursor: UInt64, state saved: [UInt8]?, context: ReaderContext) -> Step {
        self.cursor = cursor
        return step(policy.start(cursor: cursor, state: saved, context: context), context)
    }

    public mutating func startFailed(_ error: SpoolError, context: ReaderContext) -> Step {
        storageTrouble("\(error)")
        return backOff(.start, wait: storageBackoff.next(random: context.random), context)
    }

    public mutating func read(_ entries: [SpoolEntry<Policy.Element>], context: ReaderContext) -> Step {
        storageRecovered()
        return step(policy.received(entries, context: context), context)
    }

    public mutating func readFailed(_ error: SpoolError, after: UInt64, limit: Int, context: ReaderContext) -> Step {
        storageTrouble("\(error)")
        return backOff(.read(after: after, limit: limit), wait: storageBackoff.next(random: context.random), context)
    }

    /// A wait ended (deadline, new records, or a backoff's end).
    public mutating func waited(context: ReaderContext) -> Step {
        switch state {
        case .running:
            return step(policy.resumed(context: context), context)
        case .backingOff(let retry):
            state = .running
            switch retry {
            case .start: return Step(notes: takeNotes(), next: .start)
            case .delivery(let answer): return step(policy.retrying(since: answer, context: context), context)
            case .read(let after, let limit): return Step(notes: takeNotes(), next: .read(after: after, limit: limit))
            case .commit(let commit): return Step(notes: takeNotes(), next: .commit(commit, retryUntilWritten: !draining))
            }
        }
    }

    public mutating func answered(_ outcome: Result<OutputResponse, TransportError>, context: ReaderContext) -> Step {
        switch policy.verdict(on: outcome) {
        case .accepted:
            notes.append(.delivered(at: context.wallClock))
            if let outage {
                notes.append(.recovered(after: context.now - outage.since))
                recovering = outage.since
                self.outage = nil
            }
            deliveryBackoff.reset()
            return step(policy.delivered(.accepted, context: context), context)
        case .rejected(let reason):
            notes.append(.rejected(reason: reason))
            refusalPending = true
            deliveryBackoff.reset()
            return step(policy.delivered(.rejected(reason: reason), context: context), context)
        case .retry(let reason, let after):
            let wait = deliveryBackoff.next(random: context.random, retryAfter: after)
            notes.append(.deliveryFailed(
                reason: reason, firstOfOutage: outage == nil, backlog: backlog(context), retryIn: wait))
            if outage == nil { outage = (context.now, reason) }
            if draining {
                notes.append(.drainIncomplete(reason: reason))
                return Step(notes: takeNotes(), next: .finished)
            }
            return backOff(.delivery(answeredAt: context.now), wait: wait, context)
        }
    }

    public mutating func committed(_ commit: ReaderCommit<Policy.Publication>, context: ReaderContext) -> Step {
        storageRecovered()
        if refusalPending {
            refusalPending = false
            if commit.cursor > cursor { notes.append(.refused(records: commit.cursor - cursor)) }
        }
        cursor = commit.cursor
        if let since = recovering, cursor >= context.lastSequence {
            notes.append(.caughtUp(after: context.now - since))
            recovering = nil
        }
        return step(policy.committed(context: context), context)
    }

    public mutating func commitFailed(
        _ commit: ReaderCommit<Policy.Publication>, error: SpoolError, context: ReaderContext
    ) -> Step {
        storageTrouble("\(error)")
        if draining {
            notes.append(.drainIncomplete(reason: "\(error)"))
            return Step(notes: takeNotes(), next: .finished)
        }
        return backOff(.commit(commit), wait: storageBackoff.next(random: context.random), context)
    }

    /// Graceful shutdown began: make the spool durable, then let the policy drain.
    public mutating func shutdown(context: ReaderContext) -> Step {
        guard !draining else { return Step(notes: takeNotes(), next: .finished) }
        draining = true
        state = .running
        return Step(notes: takeNotes(), next: .flush)
    }

    public mutating func flushed(context: ReaderContext) -> Step {
        step(policy.draining(context: context), context)
    }

    // MARK: Helpers

    private func backlog(_ context: ReaderContext) -> UInt64 {
        context.lastSequence > cursor ? context.lastSequence - cursor : 0
    }

    private mutating func backOff(_ retry: Retry, wait: Duration, _ context: ReaderContext) -> Step {
        state = .backingOff(then: retry)
        return Step(notes: takeNotes(), next: .wait(until: context.now + wait, orChange: false))
    }

    private mutating func storageTrouble(_ reason: String) {
        notes.append(.storageFailed(reason: reason, first: !storageFailing))
        storageFailing = true
    }

    private mutating func storageRecovered() {
        guard storageFailing else { return }
        storageFailing = false
        storageBackoff.reset()
        notes.append(.storageRecovered)
    }

    private mutating func step(_ action: Policy.Action, _ context: ReaderContext) -> Step {
        let next: Next
        switch action {
        case .read(let after, let limit): next = .read(after: after, limit: limit)
        // While draining only a short, bounded wait (a pace) is kept; waiting for more never is.
        case .wait(let until?, false) where draining && until.duration(after: context.now) <= .seconds(2):
            next = .wait(until: until, orChange: false)
        case .wait where draining: next = .finished
        case .wait(let until, let orChange): next = .wait(until: until, orChange: orChange)
        case .send(let request): next = .send(request)
        case .commit(let commit): next = .commit(commit, retryUntilWritten: !draining)
        case .finished: next = .finished
        }
        return Step(notes: takeNotes(), next: next)
    }

    private mutating func takeNotes() -> [ReaderNote] {
        var taken = notes
        notes.removeAll()
        taken += policy.takeNotes().map(ReaderNote.log)
        return taken
    }
}

/// What happened that the reader's health, logs and metrics should show.
public enum ReaderNote: Sendable, Equatable {
    case delivered(at: Timestamp)
    /// `firstOfOutage`: the first failure since the last success (logged; later ones only counted).
    case deliveryFailed(reason: String, firstOfOutage: Bool, backlog: UInt64, retryIn: Duration)
    case recovered(after: Duration)
    /// The backlog an outage left has been delivered.
    case caughtUp(after: Duration)
    case rejected(reason: String)
    /// How many records the last refusal cost (not resent, not delivered).
    case refused(records: UInt64)
    case storageFailed(reason: String, first: Bool)
    case storageRecovered
    /// At shutdown, what was left could not be delivered; the spool keeps it for the next start.
    case drainIncomplete(reason: String)
    case log(LogNote)
}
