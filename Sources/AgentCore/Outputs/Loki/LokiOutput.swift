import Logging
import ServiceLifecycle

/// The Loki reader: sends every spooled result as one JSON line, stamped with the probe's own
/// start time (DESIGN invariant 3), and moves its cursor only once Loki answered.
///
/// A line sent twice (a crash after the POST, before the commit) is the identical
/// (timestamp, line) pair, which Loki drops as a duplicate. After an outage the backlog goes
/// oldest first, paced below Loki's rate limits.
public struct LokiOutput: Service, CustomStringConvertible {
    private let config: LokiConfig
    private let job: String
    private let node: String
    private let spool: Spool
    private let client: OutputHTTPClient
    private let health: OutputHealth
    private let logger: Logger
    /// Checked for new records this often while caught up.
    static let pollInterval = Duration.milliseconds(200)
    /// Records read per batch attempt; the batch itself stops at `batch_size` bytes.
    static let readLimit = 4000

    public init(config: LokiConfig, agent: AgentSettings, spool: Spool, health: OutputHealth, logger: Logger) {
        var logger = logger
        logger[metadataKey: "output"] = "loki"
        self.config = config
        self.job = agent.job
        self.node = agent.node
        self.spool = spool
        self.client = OutputHTTPClient(name: "loki", connection: config.connection)
        self.health = health
        self.logger = logger
    }

    /// What lifecycle logs print: the configuration stays out of them (it may hold credentials).
    public var description: String { "LokiOutput" }

    public func run() async throws {
        var (cursor, state) = try spool.position(of: LokiConfig.readerName)
        var counters = state.flatMap(LokiCounters.init(decoding:)) ?? LokiCounters()
        var backoff = Backoff(initial: config.minBackoff, maximum: config.maxBackoff)
        let pacer = LokiPacer(bytesPerSecond: config.maxBytesPerSecond)
        var outage: (since: ContinuousClock.Instant, backlog: UInt64)?
        var pendingSince: ContinuousClock.Instant?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let backlog = spool.lastSequence > cursor ? spool.lastSequence - cursor : 0
            guard backlog > 0 else {
                if let drained = outage {
                    logger.notice(
                        "loki backlog drained",
                        metadata: ["seconds": "\((ContinuousClock.now - drained.since).components.seconds)"])
                    outage = nil
                }
                pendingSince = nil
                await sleep(Self.pollInterval)
                continue
            }
            let records = try spool.records(after: cursor, limit: Self.readLimit)
            guard let batch = LokiBatch.build(
                records, staticLabels: config.labels, job: job, node: node, now: WallClock.now(), maxBytes: config.batchSize)
            else { continue }
            // A small batch waits up to batch_wait for company; a full one goes at once.
            let waited = pendingSince.map { ContinuousClock.now - $0 } ?? .zero
            if batch.lineBytes < config.batchSize / 2, records.count < Self.readLimit, waited < config.batchWait {
                if pendingSince == nil { pendingSince = .now }
                await sleep(min(Self.pollInterval, config.batchWait - waited))
                continue
            }
            pendingSince = nil
            let started = ContinuousClock.now
            let decision = await send(batch)
            switch decision {
            case .accepted:
                counters.sentLines += UInt64(batch.lines)
                counters.droppedTooOld += UInt64(batch.tooOld)
            case .rejected(let status, let reason):
                logger.error(
                    "loki rejected a batch; it is not resent",
                    metadata: ["status": "\(status)", "reason": "\(reason)", "lines": "\(batch.lines)"])
                counters.rejectedLines["\(status)", default: 0] += UInt64(batch.lines)
                counters.droppedTooOld += UInt64(batch.tooOld)
            case .retry(let reason, let after):
                if outage == nil {
                    outage = (.now, backlog)
                    logger.warning(
                        "loki push failed; lines wait in the spool and are sent oldest first when it is back",
                        metadata: ["reason": "\(reason)", "backlog_records": "\(backlog)"])
                }
                await sleep(backoff.next(retryAfter: after))
                continue
            }
            if batch.tooOld > 0 {
                logger.warning("left out lines older than Loki accepts", metadata: ["lines": "\(batch.tooOld)"])
            }
            try await spool.commit(reader: LokiConfig.readerName, cursor: batch.lastSequence, state: counters.encoded())
            cursor = batch.lastSequence
            backoff.reset()
            await sleep(pacer.pause(afterSending: batch.lineBytes, took: ContinuousClock.now - started))
        }
        try await drain(cursor: cursor, counters: counters)
    }

    /// At shutdown: whatever the prober produced last is sent, as long as Loki accepts it.
    private func drain(cursor: UInt64, counters: LokiCounters) async throws {
        try? await spool.flush()
        var cursor = cursor
        var counters = counters
        while spool.lastSequence > cursor {
            let records = try spool.records(after: cursor, limit: Self.readLimit)
            guard let batch = LokiBatch.build(
                records, staticLabels: config.labels, job: job, node: node, now: WallClock.now(), maxBytes: config.batchSize),
                case .accepted = await send(batch)
            else {
                logger.warning("loki did not take the last lines; the spool keeps them for the next start")
                return
            }
            counters.sentLines += UInt64(batch.lines)
            counters.droppedTooOld += UInt64(batch.tooOld)
            try await spool.commit(reader: LokiConfig.readerName, cursor: batch.lastSequence, state: counters.encoded())
            cursor = batch.lastSequence
        }
    }

    private func send(_ batch: LokiBatch) async -> LokiDecision {
        guard batch.lines > 0 else { return .accepted }
        var headers = [HTTPHeader(name: "Content-Type", value: "application/json")]
        if let tenant = config.tenant { headers.append(HTTPHeader(name: "X-Scope-OrgID", value: tenant)) }
        var body = Array(batch.body.utf8)
        if config.gzip, let compressed = Gzip.compress(body) {
            headers.append(HTTPHeader(name: "Content-Encoding", value: "gzip"))
            body = compressed
        }
        let decision = LokiDecision(
            await client.send(OutputRequest(method: "POST", url: config.connection.url, headers: headers, body: body)))
        switch decision {
        case .accepted: health.succeeded(LokiConfig.readerName)
        case .rejected(let status, let reason): health.failed(LokiConfig.readerName, reason: "HTTP \(status): \(reason)")
        case .retry(let reason, _): health.failed(LokiConfig.readerName, reason: reason)
        }
        return decision
    }

    private func sleep(_ duration: Duration) async {
        guard duration > .zero else { return }
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }
}
