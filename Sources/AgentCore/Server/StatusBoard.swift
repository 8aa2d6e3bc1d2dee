import Synchronization

/// What `/status` and `/metrics` show about the endpoints: each one's last result and recent
/// windows, and the probe metrics since the agent started.
///
/// It is filled by a spool reader (`StatusBoardPolicy`) that keeps no cursor: at start it
/// rebuilds the windows from the history the spool retains, then follows new results.
public final class StatusBoard: Sendable {
    struct EndpointState: Sendable {
        var last: ProbeResult?
        var windows = LatencyWindows()
        /// The latest results, oldest first, for the page's strip: small, so 10,000 endpoints
        /// cost about 5 MB.
        var recent: [RecentResult] = []

        static let recentKept = 20

        mutating func add(_ result: ProbeResult) {
            last = result
            windows.add(result)
            if recent.count == Self.recentKept { recent.removeFirst() }
            recent.append(RecentResult(startedAt: result.startedAt, total: result.timings.total, failure: result.failure?.reason))
        }
    }

    /// One result as the strip shows it: when, how long, and why it failed.
    struct RecentResult: Sendable, Equatable {
        var startedAt: Timestamp
        var total: Duration
        var failure: FailureReason?
    }

    private struct State: Sendable {
        var endpoints: [String: EndpointState] = [:]
        var fold: MetricFold
    }

    private let state: Mutex<State>

    public init(pushgateway: PushgatewayConfig?) {
        let fold = pushgateway.map(MetricFold.init)
            ?? MetricFold(buckets: PushgatewayConfig.defaultBuckets, phaseBuckets: PushgatewayConfig.defaultPhaseBuckets, uptimeWindow: .seconds(3600))
        state = Mutex(State(fold: fold))
    }

    /// History refills the windows only; live results also count in `/metrics`.
    func add(_ update: StatusBoardPolicy.Update) {
        state.withLock { state in
            for entry in update.history {
                state.endpoints[entry.value.endpoint, default: EndpointState()].add(entry.value)
            }
            for entry in update.live {
                state.endpoints[entry.value.endpoint, default: EndpointState()].add(entry.value)
                state.fold.add(entry.value)
            }
        }
    }

    func endpoint(_ name: String) -> EndpointState? {
        state.withLock { $0.endpoints[name] }
    }

    /// The probe metric families of the configured endpoints (counters since the agent started).
    func metricFamilies(configured: [String: EndpointLabels], keepRemoved: Duration, now: Timestamp) -> [MetricFamily] {
        state.withLock { state in
            state.fold.follow(configured, forgettingRemovedProbedBefore: now - keepRemoved)
            state.endpoints = state.endpoints.filter { configured[$0.key] != nil }
            return state.fold.metricFamilies(configured: Set(configured.keys))
        }
    }
}

/// The status board's reader: history first (everything retained from the last 24 hours, for the
/// windows only), then every new result. Its position lives in memory only.
public struct StatusBoardPolicy: SpoolReaderPolicy {
    public typealias Request = Never
    public typealias Element = ProbeResult
    public typealias Publication = Update

    public struct Update: Sendable {
        var history: [SpoolEntry<ProbeResult>] = []
        var live: [SpoolEntry<ProbeResult>] = []
    }

    public static let readLimit = 10_000
    static let historySpan = Duration.seconds(24 * 3600)

    private var boot: UInt64 = 0
    private var readThrough: UInt64 = 0

    public init() {}

    public mutating func start(cursor: UInt64, state: [UInt8]?, context: ReaderContext) -> Action {
        boot = context.lastSequence
        readThrough = 0
        return next(context: context)
    }

    public mutating func received(_ entries: [SpoolEntry<ProbeResult>], context: ReaderContext) -> Action {
        readThrough = entries.last?.sequence ?? max(readThrough, context.lastSequence)
        var update = Update()
        let since = context.wallClock - Self.historySpan
        for entry in entries {
            if entry.sequence > boot {
                update.live.append(entry)
            } else if entry.value.startedAt >= since {
                update.history.append(entry)
            }
        }
        return .commit(ReaderCommit(cursor: readThrough, publication: update, durable: false))
    }

    public mutating func draining(context: ReaderContext) -> Action { .finished }

    public func next(context: ReaderContext) -> Action {
        readThrough < context.lastSequence ? .read(after: readThrough, limit: Self.readLimit) : .wait(until: nil, orChange: true)
    }
}
