import Foundation
import Logging
import ServiceLifecycle

/// The Pushgateway reader: folds spooled results into cumulative metrics and PUTs them to this
/// node's group, committing fold and cursor together only after the gateway accepted them
/// (DESIGN invariants 1 and 2). While the gateway is away the backlog waits in the spool, and
/// memory holds one fold, whatever the outage's length.
public struct PushgatewayOutput: Service, CustomStringConvertible {
    private let config: PushgatewayConfig
    private let group: PushgatewayGroup
    private let live: LiveConfig
    private let health: OutputHealth
    private let spool: Spool
    private let logger: Logger
    /// Records folded per spool read: bounds memory while a long backlog is folded.
    static let readBatch = 10_000

    public init(
        config: PushgatewayConfig, agent: AgentSettings, live: LiveConfig, spool: Spool, health: OutputHealth, logger: Logger
    ) {
        var logger = logger
        logger[metadataKey: "output"] = "pushgateway"
        self.config = config
        self.group = PushgatewayGroup(config: config, agent: agent, logger: logger)
        self.live = live
        self.health = health
        self.spool = spool
        self.logger = logger
    }

    /// The fold and the spool position it covers.
    struct Position {
        var cursor: UInt64
        var fold: MetricFold
    }

    /// What lifecycle logs print: the configuration stays out of them (it may hold credentials).
    public var description: String { "PushgatewayOutput" }

    public func run() async throws {
        var position = try committedPosition()
        var backoff = Backoff(initial: .seconds(1), maximum: max(.seconds(60), config.pushInterval * 4))
        var pushedOnce = false
        var outageStarted: ContinuousClock.Instant?
        var wait = Duration.zero
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let delay = wait
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            wait = config.pushInterval
            guard !pushedOnce || spool.lastSequence > position.cursor else { continue }
            switch try await push(&position) {
            case .accepted:
                if let started = outageStarted {
                    logger.notice("pushgateway accepts pushes again", metadata: ["outage_seconds": "\((ContinuousClock.now - started).components.seconds)"])
                    outageStarted = nil
                }
                pushedOnce = true
                backoff.reset()
            case .rejected:
                pushedOnce = true
                backoff.reset()
            case .retry(let reason, let after):
                if outageStarted == nil {
                    outageStarted = .now
                    logger.warning(
                        "pushgateway push failed; results wait in the spool and will be pushed when it is back",
                        metadata: ["reason": "\(reason)", "backlog_records": "\(spool.lastSequence - position.cursor)"])
                }
                wait = backoff.next(retryAfter: after)
            }
        }
        try await finish(&position)
    }

    /// At shutdown: everything the prober produced is made durable and pushed once more, then the
    /// group is deleted if configured.
    private func finish(_ position: inout Position) async throws {
        try? await spool.flush()
        if spool.lastSequence > position.cursor, case .retry(let reason, _) = try await push(&position) {
            logger.warning("final push failed; the spool keeps the results for the next start", metadata: ["reason": "\(reason)"])
        }
        if config.deleteOnShutdown { _ = await group.delete() }
    }

    private func committedPosition() throws -> Position {
        let (cursor, state) = try spool.position(of: PushgatewayConfig.readerName)
        let fresh = MetricFold(buckets: config.buckets, phaseBuckets: config.phaseBuckets, uptimeWindow: config.uptimeWindow)
        guard let state else { return Position(cursor: cursor, fold: fresh) }
        guard
            let fold = MetricFold(
                decoding: state, buckets: config.buckets, phaseBuckets: config.phaseBuckets,
                uptimeWindow: config.uptimeWindow)
        else {
            logger.warning("the saved metrics were made with other buckets or uptime window; counters restart from zero")
            return Position(cursor: cursor, fold: fresh)
        }
        return Position(cursor: cursor, fold: fold)
    }

    /// Folds everything new, pushes, and commits on acceptance.
    private func push(_ position: inout Position) async throws -> PushDecision {
        var next = position
        let target = spool.lastSequence
        while next.cursor < target {
            let batch = try spool.records(after: next.cursor, limit: Self.readBatch)
            guard let last = batch.last else { break }
            for record in batch { next.fold.add(record.result) }
            next.cursor = last.sequence
        }
        next.fold.retain(endpointsNamed: Set(live.config.endpoints.map(\.name)))
        let body = ExpositionWriter.render(next.fold.metricFamilies() + selfMetrics())
        let decision = PushDecision(await group.replace(with: body))
        switch decision {
        case .accepted: health.succeeded(PushgatewayConfig.readerName)
        case .rejected(let reason): health.failed(PushgatewayConfig.readerName, reason: "HTTP 400: \(reason)")
        case .retry(let reason, _): health.failed(PushgatewayConfig.readerName, reason: reason)
        }
        switch decision {
        case .accepted:
            try await spool.commit(reader: PushgatewayConfig.readerName, cursor: next.cursor, state: next.fold.encoded())
            position = next
        case .rejected(let reason):
            logger.error(
                "pushgateway rejected the metrics; they keep folding and go with the next accepted push",
                metadata: ["reason": "\(reason)"])
            try await spool.commit(reader: PushgatewayConfig.readerName, cursor: next.cursor, state: next.fold.encoded())
            position = next
        case .retry:
            break
        }
        return decision
    }

    /// The agent's own health that belongs next to the probe metrics on the gateway: what the
    /// spool lost and how far behind each output is.
    private func selfMetrics() -> [MetricFamily] {
        var dropped = MetricFamily(
            name: "latency_agent_spool_dropped_total",
            help: "Probe results lost before every output had them, by reason.", kind: .counter)
        var backlogRecords = MetricFamily(
            name: "latency_agent_output_backlog_records", help: "Results written but not yet delivered by an output.",
            kind: .gauge)
        var backlogSeconds = MetricFamily(
            name: "latency_agent_output_backlog_seconds", help: "Age of the oldest result an output has not delivered.",
            kind: .gauge)
        guard let statistics = try? spool.statistics() else { return [] }
        for reason in Spool.dropReasons {
            dropped.samples.append(.init(labels: [("reason", reason)], value: "\(statistics.dropped[reason] ?? 0)"))
        }
        for reader in statistics.readers {
            backlogRecords.samples.append(.init(labels: [("output", reader.name)], value: "\(reader.records)"))
            backlogSeconds.samples.append(.init(labels: [("output", reader.name)], value: String(format: "%.3f", reader.seconds)))
        }
        return [dropped, backlogRecords, backlogSeconds]
    }
}
