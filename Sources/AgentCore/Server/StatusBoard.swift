import Logging
import ServiceLifecycle
import Synchronization

/// What `/status` and `/metrics` show about the endpoints: each one's last result and recent
/// windows, and the probe metrics since the agent started.
///
/// It is filled by `StatusBoard.Reader`, a spool reader that keeps no cursor: at start it
/// rebuilds the windows from the history the spool retains, then follows new results.
public final class StatusBoard: Sendable {
    struct EndpointState: Sendable {
        var last: ProbeResult?
        var windows = LatencyWindows()
    }

    private struct State: Sendable {
        var endpoints: [String: EndpointState] = [:]
        var fold: MetricFold
    }

    private let state: Mutex<State>

    public init(buckets: [Double], phaseBuckets: [Double], uptimeWindow: Duration) {
        state = Mutex(State(fold: MetricFold(buckets: buckets, phaseBuckets: phaseBuckets, uptimeWindow: uptimeWindow)))
    }

    func add(_ result: ProbeResult, countInMetrics: Bool) {
        state.withLock { state in
            state.endpoints[result.endpoint, default: EndpointState()].last = result
            state.endpoints[result.endpoint, default: EndpointState()].windows.add(result)
            if countInMetrics { state.fold.add(result) }
        }
    }

    func endpoint(_ name: String) -> EndpointState? {
        state.withLock { $0.endpoints[name] }
    }

    /// The probe metric families of the configured endpoints (counters since the agent started).
    func metricFamilies(endpoints: Set<String>) -> [MetricFamily] {
        state.withLock { state in
            state.fold.retain(endpointsNamed: endpoints)
            return state.fold.metricFamilies()
        }
    }

    /// Follows the spool into the board.
    public struct Reader: Service, CustomStringConvertible {
        let board: StatusBoard
        let spool: Spool
        let logger: Logger
        public var description: String { "StatusBoard.Reader" }

        public init(board: StatusBoard, spool: Spool, logger: Logger) {
            self.board = board
            self.spool = spool
            self.logger = logger
        }

        public func run() async throws {
            // History first: everything retained from the last 24 hours, for the windows only.
            let boot = spool.lastSequence
            let since = WallClock.now() - 24 * 3_600_000_000_000
            var cursor: UInt64 = 0
            while cursor < boot {
                let records = try spool.records(after: cursor, limit: 10_000)
                guard let last = records.last else { break }
                for record in records where record.sequence <= boot && record.result.startedAt >= since {
                    board.add(record.result, countInMetrics: false)
                }
                cursor = min(last.sequence, boot)
            }
            cursor = boot
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                if spool.lastSequence > cursor {
                    let records = try spool.records(after: cursor, limit: 10_000)
                    for record in records { board.add(record.result, countInMetrics: true) }
                    cursor = records.last?.sequence ?? spool.lastSequence
                } else {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(250)) }
                }
            }
        }
    }
}
