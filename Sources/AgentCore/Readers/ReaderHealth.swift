import Synchronization

/// How each reader is doing, for `/status` and `/metrics`: when it last delivered, its last
/// error, how many attempts failed and what was refused for good. Readers report; the server reads.
public final class ReaderHealth: Sendable {
    public struct Entry: Sendable, Equatable {
        public var lastSuccess: Timestamp?
        public var lastError: String?
        public var lastErrorAt: Timestamp?
        public var failures: UInt64 = 0
        /// Deliveries refused for good (not retried), by reason.
        public var rejected: [String: UInt64] = [:]
        /// Records those refusals covered: what never reached the backend.
        public var refusedRecords: UInt64 = 0
    }

    private let entries = Mutex<[ReaderName: Entry]>([:])

    public init() {}

    public func succeeded(_ reader: ReaderName, at time: Timestamp = .now) {
        entries.withLock { $0[reader, default: Entry()].lastSuccess = time }
    }

    /// `reason` has been scrubbed of secrets by the transport that received it.
    public func failed(_ reader: ReaderName, reason: String, at time: Timestamp = .now) {
        entries.withLock { entries in
            entries[reader, default: Entry()].lastError = reason
            entries[reader, default: Entry()].lastErrorAt = time
            entries[reader, default: Entry()].failures += 1
        }
    }

    public func rejected(_ reader: ReaderName, reason: String) {
        entries.withLock { $0[reader, default: Entry()].rejected[reason, default: 0] += 1 }
    }

    public func refused(_ reader: ReaderName, records: UInt64) {
        entries.withLock { $0[reader, default: Entry()].refusedRecords += records }
    }

    public var snapshot: [ReaderName: Entry] { entries.withLock { $0 } }
}
