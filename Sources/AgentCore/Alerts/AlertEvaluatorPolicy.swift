import Foundation
import Synchronization

/// The alert evaluator as a spool reader: each batch of results is evaluated, and its transitions
/// are written to the outbox in the same transaction that advances the cursor and saves the firing
/// alerts (DESIGN invariant 4), so a restart neither forgets a firing alert nor fires it again.
/// At start the windows are rebuilt from the results the spool still holds.
public struct AlertEvaluatorPolicy: SpoolReaderPolicy {
    public typealias Request = Never
    public typealias Element = ProbeResult
    /// The alerts firing now, by endpoint, for `/status`.
    public typealias Publication = [String: [AlertRule]]

    public static let readLimit = 1000

    public private(set) var evaluator = AlertEvaluator()
    private let alerting: AlertingConfig
    /// Results up to here were evaluated before the restart: they only refill the windows.
    private var historyThrough: UInt64 = 0
    private var readThrough: UInt64 = 0
    private var draining = false
    private var notes = LogNotes()

    public init(alerting: AlertingConfig) {
        self.alerting = alerting
    }

    public mutating func start(cursor: UInt64, state: [UInt8]?, context: ReaderContext) -> Action {
        if let state, let saved = try? JSONDecoder().decode(AlertEvaluator.self, from: Data(state)) { evaluator = saved }
        historyThrough = cursor
        readThrough = 0
        return next(context: context)
    }

    public mutating func received(_ entries: [SpoolEntry<ProbeResult>], context: ReaderContext) -> Action {
        readThrough = entries.last?.sequence ?? max(readThrough, context.lastSequence)
        let endpoints = Dictionary(context.configuration.endpoints.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        let longestWindow = endpoints.values.map(\.alertRules.window).max() ?? alerting.rules.window
        var events: [AlertEvent] = []
        var evaluated = false
        for entry in entries {
            let result = entry.value
            guard let endpoint = endpoints[result.endpoint] else { continue }
            if entry.sequence <= historyThrough {
                if result.startedAt >= context.wallClock - longestWindow { evaluator.observe(result, rules: endpoint.alertRules) }
                continue
            }
            evaluated = true
            events += evaluator.evaluate(
                result, rules: endpoint.alertRules, inMaintenance: alerting.inMaintenance(at: result.startedAt),
                remindEvery: alerting.remindEvery)
        }
        guard evaluated || readThrough > historyThrough else { return next(context: context) }
        evaluator.retain(endpointsNamed: Set(endpoints.keys))
        notes.append(contentsOf: events.map(Self.note))
        let outbox = alerting.receivers.isEmpty ? [] : events.compactMap { try? Array(JSONEncoder().encode($0)) }
        let state = (try? JSONEncoder().encode(evaluator)).map(Array.init)
        return .commit(ReaderCommit(cursor: readThrough, state: state, outbox: outbox, publication: evaluator.firing))
    }

    public mutating func draining(context: ReaderContext) -> Action {
        draining = true
        return next(context: context)
    }

    public mutating func takeNotes() -> [LogNote] { notes.take() }

    public func next(context: ReaderContext) -> Action {
        if readThrough < context.lastSequence { return .read(after: readThrough, limit: Self.readLimit) }
        return draining ? .finished : .wait(until: nil, orChange: true)
    }

    /// Every transition is a log line (and so, through a log shipper, a Loki line).
    static func note(_ event: AlertEvent) -> LogNote {
        LogNote(.notice, "alert \(event.kind.rawValue)", [
            "alert": event.rule.rawValue, "endpoint": event.endpoint, "state": event.kind.rawValue, "value": event.value,
            "threshold": event.threshold, "since": event.since.rfc3339, "silenced": "\(event.silenced)",
        ])
    }
}

/// The alerts firing now, for `/status`: what the evaluator publishes after each commit.
public final class AlertState: Sendable {
    private let firing = Mutex<[String: [AlertRule]]>([:])

    public init() {}

    func update(_ value: [String: [AlertRule]]) { firing.withLock { $0 = value } }

    public var snapshot: [String: [AlertRule]] { firing.withLock { $0 } }
}
