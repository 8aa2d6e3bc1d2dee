/// The Loki reader's decisions: every spooled result as one JSON line stamped with the probe's own
/// start time (DESIGN invariant 3), batched by size (`batch_size`) or age (`batch_wait`), paced to
/// `max_bytes_per_second` while a backlog drains, the cursor moved only once Loki answered.
///
/// A line sent twice (a crash after the POST, before the commit) is the identical
/// (timestamp, line) pair, which Loki drops as a duplicate. Loki's answers follow the standard
/// rule: 204 commits; 429, 5xx and no answer are retried with the same batch; any other 4xx (400
/// invalid or partly written, 401 no tenant, 413, 422) is counted as refused and not resent.
public struct LokiPolicy: SpoolReaderPolicy {
    public typealias Publication = Never
    public typealias Element = ProbeResult
    public typealias Request = OutputRequest

    /// Records read at a time; the batch itself stops at `batch_size` bytes.
    public static let readLimit = 4000

    private let config: LokiConfig
    private let job: String
    private let node: String
    private var batch: LokiBatch
    /// Records read that did not fit the batch: the start of the next one.
    private var carry: [SpoolEntry<ProbeResult>] = []
    private var carryIndex = 0
    private var readThrough: UInt64 = 0
    private var batchOpened: MonotonicInstant?
    private var sending: (request: OutputRequest, batch: LokiBatch, started: MonotonicInstant)?
    private var pacedUntil: MonotonicInstant?
    private var draining = false
    private var notes = LogNotes()

    public init(config: LokiConfig, job: String, node: String) {
        self.config = config
        self.job = job
        self.node = node
        self.batch = LokiBatch(job: job, node: node, staticLabels: config.labels, maxBytes: config.batchSize)
    }

    public mutating func start(cursor: UInt64, state: [UInt8]?, context: ReaderContext) -> Action {
        readThrough = cursor
        return next(context: context)
    }

    public mutating func received(_ entries: [SpoolEntry<ProbeResult>], context: ReaderContext) -> Action {
        readThrough = entries.last?.sequence ?? max(readThrough, context.lastSequence)
        carry.append(contentsOf: entries)
        return next(context: context)
    }

    public mutating func delivered(_ delivery: Delivery, context: ReaderContext) -> Action {
        guard let sent = sending else { return next(context: context) }
        sending = nil
        if case .rejected = delivery {
            notes.append(LogNote(.error, "loki refused a batch; its lines are counted as refused and not resent", ["lines": "\(sent.batch.lines)"]))
        }
        if sent.batch.tooOld > 0 {
            notes.append(LogNote(.warning, "left out lines older than Loki accepts", ["lines": "\(sent.batch.tooOld)"]))
        }
        let budget = Duration(seconds: Double(sent.batch.lineBytes) / Double(max(1, config.maxBytesPerSecond)))
        pacedUntil = sent.started + budget
        return .commit(ReaderCommit(cursor: sent.batch.lastSequence ?? readThrough))
    }

    public mutating func retrying(since answer: MonotonicInstant, context: ReaderContext) -> Action {
        guard let sent = sending else { return next(context: context) }
        sending = (sent.request, sent.batch, context.now)
        return .send(sent.request)
    }

    public mutating func draining(context: ReaderContext) -> Action {
        draining = true
        return next(context: context)
    }

    public mutating func takeNotes() -> [LogNote] { notes.take() }

    public mutating func next(context: ReaderContext) -> Action {
        // Fill the batch from what was read; what does not fit closes it.
        var full = false
        let streamLabels = config.endpointLabels.isEmpty || carryIndex == carry.count ? [:] : context.configuration.endpoints.reduce(into: [String: EndpointLabels]()) {
            $0[$1.name] = EndpointLabels($1.labels.dictionary.filter { config.endpointLabels.contains($0.key) })
        }
        while carryIndex < carry.count {
            let endpoint = carry[carryIndex].value.endpoint
            guard batch.add(carry[carryIndex], now: context.wallClock, labels: streamLabels[endpoint] ?? .init()) else {
                full = true
                break
            }
            if batchOpened == nil { batchOpened = context.now }
            carryIndex += 1
        }
        if carryIndex == carry.count {
            carry.removeAll(keepingCapacity: true)
            carryIndex = 0
        }
        if !full, readThrough < context.lastSequence { return .read(after: readThrough, limit: Self.readLimit) }
        guard !batch.isEmpty else { return draining ? .finished : .wait(until: nil, orChange: true) }
        let opened = batchOpened ?? context.now
        if !full, !draining, context.now < opened + config.batchWait {
            return .wait(until: opened + config.batchWait, orChange: true)
        }
        if !draining, let pacedUntil, context.now < pacedUntil { return .wait(until: pacedUntil, orChange: false) }
        return send(context)
    }

    private mutating func send(_ context: ReaderContext) -> Action {
        let closed = batch
        batch = LokiBatch(job: job, node: node, staticLabels: config.labels, maxBytes: config.batchSize)
        batchOpened = nil
        guard closed.lines > 0 else {
            // Only lines too old for Loki: nothing to send, the cursor moves past them.
            if closed.tooOld > 0 { notes.append(LogNote(.warning, "left out lines older than Loki accepts", ["lines": "\(closed.tooOld)"])) }
            return .commit(ReaderCommit(cursor: closed.lastSequence ?? readThrough))
        }
        var headers = [HTTPHeader(name: "Content-Type", value: "application/json")]
        if let tenant = config.tenant { headers.append(HTTPHeader(name: "X-Scope-OrgID", value: tenant)) }
        var body = closed.body
        if config.gzip, let compressed = Gzip.compress(body) {
            headers.append(HTTPHeader(name: "Content-Encoding", value: "gzip"))
            body = compressed
        }
        let request = OutputRequest(method: "POST", url: config.connection.url, headers: headers, body: body)
        sending = (request, closed, context.now)
        return .send(request)
    }
}
