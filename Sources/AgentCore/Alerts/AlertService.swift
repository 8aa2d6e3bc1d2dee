import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The alert evaluator as a spool reader. Each batch of results is evaluated and its transitions
/// are written to the outbox in the same transaction that advances the cursor and saves the
/// firing alerts (DESIGN invariant 4), so a restart neither forgets a firing alert nor fires it
/// again. The windows are rebuilt at start from the results the spool still holds.
public struct AlertService: Service, CustomStringConvertible {
    private let config: AlertingConfig
    private let live: LiveConfig
    private let spool: Spool
    private let state: AlertState
    private let logger: Logger

    public init(config: AlertingConfig, live: LiveConfig, spool: Spool, state: AlertState, logger: Logger) {
        var logger = logger
        logger[metadataKey: "component"] = "alerts"
        self.config = config
        self.live = live
        self.spool = spool
        self.state = state
        self.logger = logger
    }

    public var description: String { "AlertService" }

    public func run() async throws {
        var (cursor, saved) = try spool.position(of: AlertingConfig.readerName)
        var evaluator = saved.flatMap { try? JSONDecoder().decode(AlertEvaluator.self, from: Data($0)) } ?? AlertEvaluator()
        try rebuildWindows(&evaluator, upTo: cursor)
        state.update(evaluator.firing)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let records = try spool.records(after: cursor, limit: 1000)
            guard let last = records.last else {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(100)) }
                continue
            }
            let current = live.config
            let rules = current.alerting ?? config
            let endpoints = Dictionary(current.endpoints.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
            var events: [AlertEvent] = []
            for record in records {
                guard let endpoint = endpoints[record.result.endpoint] else { continue }
                events += evaluator.evaluate(
                    record.result, rules: rules.rules(for: endpoint.name),
                    latencyThreshold: endpoint.latencyThreshold ?? .seconds(1),
                    inMaintenance: config.inMaintenance(at: record.result.startedAt), remindEvery: config.remindEvery)
            }
            evaluator.retain(endpointsNamed: Set(endpoints.keys))
            for event in events { log(event) }
            let outbox = config.receivers.isEmpty ? [] : try events.map { Array(try JSONEncoder().encode($0)) }
            try await spool.commit(
                reader: AlertingConfig.readerName, cursor: last.sequence, state: Array(try JSONEncoder().encode(evaluator)),
                outbox: outbox)
            cursor = last.sequence
            state.update(evaluator.firing)
        }
    }

    /// Replays the retained results of the last window before `cursor` into the windows only.
    private func rebuildWindows(_ evaluator: inout AlertEvaluator, upTo cursor: UInt64) throws {
        guard cursor > 0 else { return }
        let longest = config.rules.values.map(\.window).max() ?? .seconds(300)
        let since = WallClock.now() - longest.nanoseconds
        var position: UInt64 = 0
        while position < cursor {
            let records = try spool.records(after: position, limit: 10_000)
            guard let last = records.last else { break }
            for record in records where record.sequence <= cursor && record.result.startedAt >= since {
                evaluator.observe(record.result, rules: config.rules(for: record.result.endpoint))
            }
            position = last.sequence
        }
    }

    /// Every transition is a log line (and so, through a log shipper, a Loki line).
    private func log(_ event: AlertEvent) {
        let metadata: Logger.Metadata = [
            "alert": "\(event.rule.rawValue)", "endpoint": "\(event.endpoint)", "state": "\(event.kind.rawValue)",
            "value": "\(event.value)", "threshold": "\(event.threshold)",
            "since": "\(RFC3339.format(nanoseconds: event.since))", "silenced": "\(event.silenced)",
        ]
        logger.notice("alert \(event.kind.rawValue)", metadata: metadata)
    }
}

/// The alerts firing now, for `/status`.
public final class AlertState: Sendable {
    private let firing = Mutex<[String: [AlertRule]]>([:])

    public init() {}

    func update(_ value: [String: [AlertRule]]) { firing.withLock { $0 = value } }

    public var snapshot: [String: [AlertRule]] { firing.withLock { $0 } }
}
