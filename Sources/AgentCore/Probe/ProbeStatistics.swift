/// Counters of the probe engine, for `/metrics`, `/status` and the shutdown summary.
public struct ProbeStatistics: Sendable, Equatable {
    public var started: Int = 0
    public var completed: Int = 0
    /// Ticks dropped because the endpoint's previous probe was still running.
    public var skippedInFlight: Int = 0
    /// Ticks dropped because the engine fell behind by whole intervals.
    public var skippedBehind: Int = 0
    public var inFlight: Int = 0
    /// Start lag behind the schedule of the most recent probes, in microseconds (a ring of the last
    /// `lagWindow` values), from which the lag quantiles are read.
    public private(set) var recentLags: [UInt32] = []
    private var nextLagSlot = 0

    public static let lagWindow = 8192

    public init() {}

    mutating func recordStart(lag: Duration) {
        started += 1
        inFlight += 1
        let micros = UInt32(clamping: lag.inMicroseconds)
        if recentLags.count < Self.lagWindow {
            recentLags.append(micros)
        } else {
            recentLags[nextLagSlot] = micros
            nextLagSlot = (nextLagSlot + 1) % Self.lagWindow
        }
    }

    /// The q-quantile (0…1) of the recent start lags; nil before the first probe.
    public func lagQuantile(_ q: Double) -> Duration? {
        guard !recentLags.isEmpty else { return nil }
        let sorted = recentLags.sorted()
        return .microseconds(sorted[min(sorted.count - 1, Int((q * Double(sorted.count - 1)).rounded()))])
    }
}
