/// The Pushgateway reader's decisions: fold results into cumulative metrics, push the fold every
/// `push_interval` when something is new (and once at start), and commit fold and cursor together
/// only after the gateway accepted them (DESIGN invariants 1 and 2).
///
/// The fold is kept in memory across failed pushes: a retry folds only what arrived since, so
/// after a day's outage each record is folded once, not once per retry.
public struct PushgatewayPolicy: SpoolReaderPolicy {
    public typealias Publication = Never
    public typealias Element = ProbeResult
    public typealias Request = PushRequest

    /// What one push sends: the fold at `cursor`, and the endpoints whose gauges it shows.
    public struct PushRequest: Sendable {
        public var fold: MetricFold
        public var cursor: UInt64
        public var configured: Set<String>
    }

    /// Records folded per spool read: bounds memory while a long backlog is folded.
    public static let readBatch = 10_000

    private let template: MetricFold
    private let pushInterval: Duration
    /// A removed endpoint's counters are kept this long after its last probe (`spool.retain`).
    private let keepRemoved: Duration
    public private(set) var fold: MetricFold
    /// The last record folded in.
    public private(set) var folded: UInt64 = 0
    public private(set) var committed: UInt64 = 0
    /// How many records have been folded since start: the cost a retry must not repeat.
    public private(set) var recordsFolded: UInt64 = 0
    private var pushedOnce = false
    private var nextPush: MonotonicInstant?
    private var inFlight: PushRequest?
    private var draining = false
    private var notes = LogNotes()

    public init(config: PushgatewayConfig, keepRemoved: Duration) {
        template = MetricFold(config)
        fold = template
        pushInterval = config.pushInterval
        self.keepRemoved = keepRemoved
    }

    public mutating func start(cursor: UInt64, state: [UInt8]?, context: ReaderContext) -> Action {
        committed = cursor
        folded = cursor
        if let state {
            if let saved = MetricFold(decoding: state, like: template) {
                fold = saved
            } else {
                notes.append(LogNote(.warning, "the saved metrics were made with other buckets or uptime window; counters restart from zero"))
            }
        }
        nextPush = context.now
        return next(context: context)
    }

    public mutating func received(_ entries: [SpoolEntry<ProbeResult>], context: ReaderContext) -> Action {
        for entry in entries { fold.add(entry.value) }
        recordsFolded += UInt64(entries.count)
        // An empty read with records announced means they were trimmed before this reader had
        // them (a full spool, counted there): move past the gap.
        folded = entries.last?.sequence ?? max(folded, context.lastSequence)
        return next(context: context)
    }

    /// 2xx: stored. 400: this payload is invalid or conflicts with another group (a retry cannot
    /// fix it); the fold is committed anyway, because it still holds every probe and the next
    /// accepted push carries them. Anything else (5xx, 401, 403, 404, 429, no answer): retry.
    public func verdict(on outcome: Result<OutputResponse, TransportError>) -> DeliveryVerdict {
        switch outcome {
        case .success(let response) where (200..<300).contains(response.status): return .accepted
        case .success(let response) where response.status == 400: return .rejected(reason: response.summary)
        case .success(let response): return .retry(reason: response.summary, after: response.retryAfter)
        case .failure(let error): return .retry(reason: error.description, after: nil)
        }
    }

    public mutating func delivered(_ delivery: Delivery, context: ReaderContext) -> Action {
        guard let request = inFlight else { return next(context: context) }
        inFlight = nil
        pushedOnce = true
        nextPush = context.now + pushInterval
        committed = request.cursor
        if case .rejected = delivery {
            notes.append(LogNote(.error, "the pushgateway refused the metrics; they keep folding and go with the next accepted push"))
        }
        return .commit(ReaderCommit(cursor: request.cursor, state: request.fold.encoded()))
    }

    public mutating func retrying(since answer: MonotonicInstant, context: ReaderContext) -> Action {
        inFlight = nil
        nextPush = context.now
        return next(context: context)
    }

    public mutating func draining(context: ReaderContext) -> Action {
        draining = true
        nextPush = context.now
        return next(context: context)
    }

    public mutating func takeNotes() -> [LogNote] { notes.take() }

    public mutating func next(context: ReaderContext) -> Action {
        if folded < context.lastSequence { return .read(after: folded, limit: Self.readBatch) }
        guard !pushedOnce || folded > committed else { return draining ? .finished : .wait(until: nil, orChange: true) }
        let due = nextPush ?? context.now
        guard draining || context.now >= due else { return .wait(until: due, orChange: false) }
        let configured = context.configuration.labelsByEndpoint
        fold.follow(configured, forgettingRemovedProbedBefore: context.wallClock - keepRemoved)
        let request = PushRequest(fold: fold, cursor: folded, configured: Set(configured.keys))
        inFlight = request
        return .send(request)
    }
}
