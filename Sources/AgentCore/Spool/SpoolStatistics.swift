/// What `latency-agent spool stats`, `/status` and the self-metrics report about the spool.
public struct SpoolStatistics: Sendable, Equatable {
    public var records: Int
    /// Bytes of pages the results occupy.
    public var bytes: Int
    public var maxBytes: Int
    public var oldest: (sequence: UInt64, startedAt: Int64)?
    public var newest: (sequence: UInt64, startedAt: Int64)?
    /// Records lost before every reader had them, by reason (`full`, `backpressure`, `write_error`).
    public var dropped: [String: UInt64]
    public var readers: [ReaderLag]

    public struct ReaderLag: Sendable, Equatable {
        public var name: String
        public var cursor: UInt64
        /// Records written but not yet handled by this reader.
        public var records: UInt64
        /// Age of the oldest record this reader has not handled, in seconds; 0 when caught up.
        public var seconds: Double
    }

    public static func == (lhs: SpoolStatistics, rhs: SpoolStatistics) -> Bool {
        lhs.records == rhs.records && lhs.bytes == rhs.bytes && lhs.dropped == rhs.dropped && lhs.readers == rhs.readers
            && lhs.oldest?.sequence == rhs.oldest?.sequence && lhs.newest?.sequence == rhs.newest?.sequence
    }
}

/// One stored probe result and its position in the spool.
public struct SpoolRecord: Sendable, Equatable {
    public var sequence: UInt64
    public var result: ProbeResult
}
