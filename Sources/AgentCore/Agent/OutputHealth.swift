import Synchronization

/// How each output is doing, for `/status` and `/metrics`: when it last delivered, its last
/// error, and how many attempts failed. Outputs report; the server reads.
public final class OutputHealth: Sendable {
    public struct Entry: Sendable, Equatable {
        public var lastSuccess: Int64?
        public var lastError: String?
        public var lastErrorAt: Int64?
        public var failures: UInt64 = 0
        /// Deliveries refused for good (not retried), by reason.
        public var rejected: [String: UInt64] = [:]
    }

    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    public func succeeded(_ output: String, at time: Int64 = WallClock.now()) {
        entries.withLock { $0[output, default: Entry()].lastSuccess = time }
    }

    /// `reason` must be safe to show: outputs pass the server's answer or a transport error,
    /// never a URL or header.
    public func failed(_ output: String, reason: String, at time: Int64 = WallClock.now()) {
        entries.withLock { entries in
            entries[output, default: Entry()].lastError = reason
            entries[output, default: Entry()].lastErrorAt = time
            entries[output, default: Entry()].failures += 1
        }
    }

    /// A delivery refused for good: counted by reason for `latency_agent_alerts_failed_total`.
    public func rejected(_ output: String, reason: String) {
        entries.withLock { $0[output, default: Entry()].rejected[reason, default: 0] += 1 }
    }

    public var snapshot: [String: Entry] { entries.withLock { $0 } }
}
