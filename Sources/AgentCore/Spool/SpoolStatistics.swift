/// What `latency-agent spool stats`, `/status` and the self-metrics report about the spool.
public struct SpoolStatistics: Sendable, Equatable {
    public var records: Int
    /// Bytes of pages the results occupy.
    public var bytes: Int
    public var maxBytes: Int
    public var oldest: Mark?
    public var newest: Mark?
    /// Records lost before every reader had them, by reason (`SpoolDropReason`).
    public var dropped: [String: UInt64]
    public var readers: [ReaderLag]

    public struct Mark: Sendable, Equatable {
        public var sequence: UInt64
        public var startedAt: Timestamp
    }

    public struct ReaderLag: Sendable, Equatable {
        public var reader: ReaderName
        public var cursor: UInt64
        /// Records written but not yet handled by this reader.
        public var records: UInt64
        /// Age of the oldest record this reader has not handled; zero when caught up.
        public var age: Duration
    }

    public func dropped(_ reason: SpoolDropReason) -> UInt64 { dropped[reason.rawValue] ?? 0 }
}
