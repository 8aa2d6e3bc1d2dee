/// How a reader waits between failed attempts: exponential from `initial`, capped at `maximum`,
/// each wait drawn from [delay × (1 − jitter), delay] so agents that lost the same backend do
/// not return in lockstep. The cap is what bounds time-to-resume: a backend that comes back is
/// used again within `maximum` (or its own `Retry-After`).
public struct RetryPolicy: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var jitter: Double

    public init(initial: Duration, maximum: Duration, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.jitter = jitter
    }

    /// Metrics and logs: delivery resumes within 5 s of the backend's return.
    public static let outputs = RetryPolicy(initial: .milliseconds(500), maximum: .seconds(5))
    /// Alerts: within 2 s.
    public static let alerts = RetryPolicy(initial: .milliseconds(250), maximum: .seconds(2))
    /// The spool itself (a read or commit that failed).
    public static let storage = RetryPolicy(initial: .milliseconds(100), maximum: .seconds(2))

    /// The longest `Retry-After` taken as given; a larger one waits this long.
    public static let longestRetryAfter = Duration.seconds(600)
}

/// The attempts of one failure episode under a `RetryPolicy`. Pure: the random draw is passed in.
public struct Backoff: Sendable, Equatable {
    public let policy: RetryPolicy
    public private(set) var attempts = 0

    public init(_ policy: RetryPolicy) {
        self.policy = policy
    }

    /// The wait before the next attempt. A server's `Retry-After` is the wait itself — not a floor
    /// under a growing backoff — so delivery resumes the moment the server said it would.
    public mutating func next(random: Double, retryAfter: Duration? = nil) -> Duration {
        // A wait the server named does not count towards the backoff's growth.
        if let retryAfter { return min(max(.zero, retryAfter), RetryPolicy.longestRetryAfter) }
        let exponent = min(attempts, 30)
        attempts += 1
        let base = min(policy.maximum, policy.initial * (1 << exponent))
        return base * (1 - policy.jitter * min(max(random, 0), 1))
    }

    public mutating func reset() {
        attempts = 0
    }
}
