/// Exponential backoff with jitter for retrying an output: the delay doubles from `initial` up to
/// `maximum`, and each wait is drawn from [delay × (1 − jitter), delay], so many agents that lost
/// the same backend do not return in lockstep. Pure: the random draw is passed in.
public struct Backoff: Sendable, Equatable {
    public let initial: Duration
    public let maximum: Duration
    public let jitter: Double
    public private(set) var attempts = 0

    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(300), jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
    }

    /// The wait before the next attempt; `retryAfter` (a server's `Retry-After`) wins when longer.
    public mutating func next(random: Double = Double.random(in: 0..<1), retryAfter: Duration? = nil) -> Duration {
        let exponent = min(attempts, 30)
        attempts += 1
        let base = min(maximum, initial * (1 << exponent))
        let jittered = base * (1 - jitter * random)
        guard let retryAfter else { return jittered }
        return max(jittered, retryAfter)
    }

    public mutating func reset() {
        attempts = 0
    }
}
